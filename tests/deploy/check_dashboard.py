#!/usr/bin/env python3
"""deploy/grafana/kvstore.json queries only series a node exports. Starts a central node, a
full edge and a cache edge from the example configs in deploy/config (TLS and --auth required;
listeners, data directories and key files overridden by flags: loopback, port 0, a temp dir),
writes and reads with kvctl (and one refused token), scrapes every node's /metrics and checks
that each metric the dashboard's expressions and variables name appears in some node's
exposition, with the labels the queries select on, group by and print. Also checks the JSON's
structure, that it is what make_dashboard.py writes, and that it has the panels the operator's
guide describes. Skips (77) without openssl.

   check_dashboard.py KVD KVCTL SOURCE_DIR"""
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_common import Checks, parse_printed_config, skip  # noqa: E402

START_TIMEOUT = 30
READY_TIMEOUT = 30
# Labels Prometheus adds at scrape time, and histogram buckets.
SCRAPE_LABELS = {"instance", "job", "le"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "sum", "rate",
                "increase", "max", "min", "count", "avg", "histogram_quantile", "label_values"}


class Cluster:
    def __init__(self, kvd, kvctl, src, tmp):
        self.kvd, self.kvctl, self.src, self.tmp = kvd, kvctl, src, tmp
        self.procs = []
        self.nodes = {}

    def pki(self):
        tls = os.path.join(self.tmp, "tls")
        auth = os.path.join(self.tmp, "auth")
        os.makedirs(tls, mode=0o700)
        os.makedirs(auth, mode=0o700)
        script = (f'set -e; umask 077; TLS_DIR="{tls}"; . "{self.src}/deploy/local/pki.sh"; '
                  f'make_ca; issue central; issue edge-full; issue edge-cache; '
                  f'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 '
                  f'-out "{auth}/signing.key" 2>/dev/null')
        subprocess.run(["bash", "-c", script], check=True, timeout=60)
        cfg = parse_printed_config(subprocess.run(
            [self.kvd, "central", "--config", f"{self.src}/deploy/config/central.toml", "--print-config"],
            capture_output=True, text=True, check=True).stdout)
        self.issuer, self.audience = cfg["auth-issuer"], cfg["auth-audience"].strip('[]" ')
        self.run_kvctl(["auth", "jwks", "--key", f"{auth}/signing.key", "--kid", "deploy-test"],
                       out=f"{auth}/jwks.json")
        self.run_kvctl(self.mint("replicate", "edges"), out=f"{auth}/upstream.token")
        self.admin_token = self.run_kvctl(self.mint("admin read: write:", "operator")).strip()
        self.tls, self.auth = tls, auth
        self.ssl = ssl.create_default_context(cafile=f"{tls}/ca.pem")

    def mint(self, scope, sub):
        return ["auth", "mint", "--key", f"{self.tmp}/auth/signing.key", "--kid", "deploy-test",
                "--iss", self.issuer, "--aud", self.audience, "--scope", scope, "--sub", sub,
                "--ttl", "1h"]

    def run_kvctl(self, args, out=None, endpoint=None, token=None, check=True):
        cmd = [self.kvctl]
        if endpoint:
            cmd += ["--endpoint", endpoint, "--tls-ca", f"{self.tmp}/tls/ca.pem", "--timeout", "10s"]
        env = dict(os.environ)
        env.pop("KV_TOKEN", None)
        if token is not None:
            env["KV_TOKEN"] = token
        r = subprocess.run(cmd + args, capture_output=True, text=True, timeout=30, env=env)
        if check and r.returncode != 0:
            raise RuntimeError(f"kvctl {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
        if out:
            with open(out, "w") as f:
                f.write(r.stdout)
        return r.stdout if check else r

    def start(self, name, role, config, extra):
        ready = os.path.join(self.tmp, f"{name}.ready")
        log = open(os.path.join(self.tmp, f"{name}.log"), "w")
        argv = [self.kvd, role, "--config", os.path.join(self.src, "deploy", "config", config),
                "--node-id", name, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                "--data-dir", os.path.join(self.tmp, name), "--ready-file", ready,
                "--tls-cert", f"{self.tls}/{name}.pem", "--tls-key", f"{self.tls}/{name}.key",
                "--tls-ca", f"{self.tls}/ca.pem", "--min-free-disk", "1MiB", *extra]
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, p))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.returncode}: {self.log_tail(name)}")
            if os.path.exists(ready):
                self.nodes[name] = json.load(open(ready))
                return self.nodes[name]
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not write {ready} within {START_TIMEOUT}s: {self.log_tail(name)}")

    def log_tail(self, name):
        try:
            return open(os.path.join(self.tmp, f"{name}.log")).read()[-2000:]
        except OSError:
            return ""

    def http(self, name, path, token=None):
        req = urllib.request.Request(f"https://{self.nodes[name]['http']}{path}")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, context=self.ssl, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def wait_ready(self, name):
        deadline = time.monotonic() + READY_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            last = self.http(name, "/readyz")
            if last[0] == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} not ready within {READY_TIMEOUT}s: {last}: {self.log_tail(name)}")

    def stop(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in reversed(self.procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def parse_exposition(text, names, labels):
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s", line)
        if m:
            names.add(m.group(1))
            for lab in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""):
                labels.setdefault(m.group(1), set()).add(lab)


def histogram_base(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def queries(dashboard):
    """(where, expr, legend) for every panel target and query variable."""
    out = []
    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append((f"panel {p.get('id')} '{p.get('title')}'", t.get("expr", ""), t.get("legendFormat", "")))
            walk(p.get("panels", []))
    walk(dashboard.get("panels", []))
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else q or ""
            out.append((f"variable {v.get('name')}", q, ""))
            out.append((f"variable {v.get('name')} definition", v.get("definition", ""), ""))
    return out


def check_structure(c, d, src, kvd_dir):
    ids = []
    def walk(panels):
        for p in panels:
            ids.append(p.get("id"))
            where = f"panel {p.get('id')} '{p.get('title')}'"
            c.check(isinstance(p.get("gridPos"), dict) and {"x", "y", "w", "h"} <= set(p["gridPos"]),
                    f"{where}: gridPos")
            if p.get("type") != "row":
                c.check(bool(p.get("targets")), f"{where}: has queries")
                c.check(p.get("datasource", {}).get("uid") == "${datasource}", f"{where}: uses the datasource variable")
                refs = [t.get("refId") for t in p.get("targets", [])]
                c.check(len(refs) == len(set(refs)) and all(refs), f"{where}: distinct refIds")
                for t in p.get("targets", []):
                    e = t.get("expr", "")
                    c.check(e.count("(") == e.count(")") and e.count("{") == e.count("}"),
                            f"{where}: balanced brackets in {e}")
            walk(p.get("panels", []))
    walk(d.get("panels", []))
    c.check(len(ids) == len(set(ids)) and None not in ids, "panel ids are unique")
    c.check(bool(d.get("uid")) and bool(d.get("title")) and isinstance(d.get("schemaVersion"), int),
            "dashboard has uid, title, schemaVersion")
    titles = " | ".join(p.get("title", "").lower() for p in d.get("panels", []))
    for want in ("writes", "reads by source", "staleness per edge", "lag per downstream",
                 "cache hit ratio", "auth refusals"):
        c.check(want in titles, f"dashboard has a panel on '{want}'")
    gen = os.path.join(src, "deploy", "grafana", "make_dashboard.py")
    r = subprocess.run([sys.executable, gen], capture_output=True, text=True, timeout=30)
    c.check(r.returncode == 0 and json.loads(r.stdout) == d,
            "deploy/grafana/kvstore.json is what make_dashboard.py writes (regenerate it)")


def main():
    kvd, kvctl, src = (os.path.abspath(a) for a in sys.argv[1:4])
    if not shutil.which("openssl"):
        skip("openssl is not installed: cannot make the test cluster's certificates")
    c = Checks("check_dashboard")
    dashboard = json.load(open(os.path.join(src, "deploy", "grafana", "kvstore.json")))
    check_structure(c, dashboard, src, os.path.dirname(kvd))

    names, labels = set(), {}
    with tempfile.TemporaryDirectory(prefix="kv-dashboard-") as tmp:
        cl = Cluster(kvd, kvctl, src, tmp)
        try:
            cl.pki()
            central = cl.start("central", "central", "central.toml",
                               ["--auth-jwks", f"{cl.auth}/jwks.json", "--resp", "127.0.0.1:0"])
            edge_flags = ["--upstream", central["grpc"], "--upstream-token-file", f"{cl.auth}/upstream.token"]
            cl.start("edge-full", "edge", "edge-full.toml", edge_flags)
            cl.start("edge-cache", "edge", "edge-cache.toml", edge_flags)
            for n in cl.nodes:
                cl.wait_ready(n)
            tok = cl.admin_token
            for i in range(5):
                cl.run_kvctl(["put", f"deploy/{i}", f"value {i}"], endpoint=central["grpc"], token=tok)
            cl.run_kvctl(["delete", "deploy/4"], endpoint=central["grpc"], token=tok)
            for n in ("edge-full", "edge-cache"):
                for key in ("deploy/0", "deploy/0", "deploy/1"):
                    cl.run_kvctl(["get", key, "--max-staleness", "30s"], endpoint=cl.nodes[n]["grpc"], token=tok)
                r = cl.run_kvctl(["get", "deploy/missing"], endpoint=cl.nodes[n]["grpc"], token=tok, check=False)
                c.check(r.returncode == 1, f"{n}: a missing key is not found (exit {r.returncode}: {r.stderr.strip()})")
                status, body = cl.http(n, "/v1/kv/deploy/2", token=tok)
                c.check(status == 200, f"{n}: HTTPS GET /v1/kv/deploy/2 with a token answers 200 (got {status} {body[:200]})")
                # A refused token (counted in kv_auth_denied_total).
                r = cl.run_kvctl(["get", "deploy/0"], endpoint=cl.nodes[n]["grpc"], token="not.a.token", check=False)
                c.check(r.returncode == 9, f"{n}: a malformed token is refused (exit {r.returncode})")
            status, body = cl.http("central", "/v1/kv/deploy/2")
            c.check(status == 401, f"central: GET without a token answers 401 (got {status})")
            time.sleep(0.5)  # let the edges acknowledge, so the lag series settle
            for n in cl.nodes:
                status, text = cl.http(n, "/metrics")
                if status == 401:  # scrapes may need a token
                    status, text = cl.http(n, "/metrics", token=tok)
                    print(f"note: {n} /metrics needs a token")
                if c.check(status == 200, f"{n}: GET /metrics answers 200 (got {status})"):
                    parse_exposition(text, names, labels)
        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
            c.check(False, f"test cluster: {e}")
        finally:
            cl.stop()

    if not names:
        c.finish()
    print(f"{len(names)} metric names exported by central, full and cache edges")
    used = set()
    for where, expr, legend in queries(dashboard):
        metrics = set(re.findall(r"\b(kv_[a-zA-Z0-9_:]+)\b", expr))
        c.check(bool(metrics) or not expr, f"{where}: names a kv_ metric: {expr}")
        avail = set(SCRAPE_LABELS)
        for m in metrics:
            used.add(m)
            c.check(m in names or histogram_base(m) + "_bucket" in names,
                    f"{where}: {m} is exported by a node")
            avail |= labels.get(m, set())
        # Label matchers of each selector are labels of that metric.
        for m, body in re.findall(r"\b(kv_[a-zA-Z0-9_:]+)\{([^}]*)\}", expr):
            for lab in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", body):
                c.check(lab in labels.get(m, set()) or lab in SCRAPE_LABELS,
                        f"{where}: {m} has label {lab} (has {sorted(labels.get(m, set()))})")
        # Grouping and join labels, and the legend's, exist on a metric of the expression.
        grouped = []
        for lst in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", expr):
            grouped += [x.strip() for x in lst.split(",") if x.strip()]
        grouped += re.findall(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", legend)
        for lab in grouped:
            c.check(lab in avail, f"{where}: label {lab} is on a metric of the query")
        if expr.startswith("label_values("):
            m = re.match(r"label_values\((\w+),\s*(\w+)\)", expr)
            c.check(m is not None and m.group(2) in labels.get(m.group(1), set()),
                    f"{where}: {expr} names an exported label")
    print(f"the dashboard queries {len(used)} metrics: {' '.join(sorted(used))}")
    c.finish()


if __name__ == "__main__":
    main()
