#!/usr/bin/env python3
"""The example configs in deploy/config are accepted by kvd (the config reader refuses unknown
keys, so this proves every name) and say what the deployment recipes rely on: the paths under
/etc/kvd and /var/lib/kvd, TLS and --auth required on listeners reachable from other hosts.

   check_configs.py KVD SOURCE_DIR"""
import glob
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_common import Checks, parse_printed_config, print_config, role_of_config  # noqa: E402


def main():
    kvd, src = sys.argv[1], sys.argv[2]
    c = Checks("check_configs")
    files = sorted(glob.glob(os.path.join(src, "deploy", "config", "*.toml")))
    names = [os.path.basename(f) for f in files]
    c.check(names == ["central.toml", "edge-cache.toml", "edge-full.toml"],
            f"deploy/config holds central.toml, edge-full.toml, edge-cache.toml (found {names})")
    for f in files:
        name = os.path.basename(f)
        role = role_of_config(name, "")
        ok, out = print_config(kvd, role, open(f).read())
        if not c.check(ok, f"{name}: kvd {role} --config {name} --print-config: {out.strip()}"):
            continue
        cfg = parse_printed_config(out)
        c.check(cfg.get("data-dir", "").startswith("/var/lib/kvd/"),
                f"{name}: data-dir under /var/lib/kvd (the systemd StateDirectory and the "
                f"container volume), got {cfg.get('data-dir')!r}")
        for key in ("tls-cert", "tls-key", "tls-ca"):
            c.check(cfg.get(key, "").startswith("/etc/kvd/tls/"), f"{name}: {key} under /etc/kvd/tls")
        c.check(cfg.get("auth") == "required", f"{name}: auth = required")
        c.check(cfg.get("insecure") == "false", f"{name}: not insecure")
        c.check(cfg.get("tls-http-client-certs") == "none",
                f"{name}: probes and scrapes need no client certificate (tls-http-client-certs)")
        c.check(cfg.get("http", "") != "", f"{name}: an HTTP listener for probes and /metrics")
        c.check(cfg.get("log-format") == "json", f"{name}: log-format json")
        if role == "central":
            c.check(cfg.get("auth-jwks", "").startswith("/etc/kvd/auth/"), f"{name}: auth-jwks under /etc/kvd/auth")
            c.check(cfg.get("listen") == "0.0.0.0:7000" and cfg.get("http") == "0.0.0.0:8000",
                    f"{name}: central ports 7000/8000 as the Dockerfile and manifests say")
        else:
            mode = "cache" if "cache" in name else "full"
            c.check(cfg.get("mode") == mode, f"{name}: mode = {mode}")
            c.check(cfg.get("upstream", "") != "", f"{name}: an upstream")
            c.check(cfg.get("upstream-token-file", "").startswith("/etc/kvd/auth/"),
                    f"{name}: upstream-token-file under /etc/kvd/auth")
            c.check(cfg.get("listen") == "0.0.0.0:7100" and cfg.get("http") == "0.0.0.0:8100",
                    f"{name}: edge ports 7100/8100 as the Dockerfile and manifests say")
        # Protected mode: the same file with TLS and tokens taken away must not start (it
        # refuses before it binds or opens the data directory; port 0, a temp directory).
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run(
                [kvd, role, "--config", f, "--auth", "off", "--tls-cert", "", "--tls-key", "",
                 "--tls-ca", "", "--tls-client-certs", "none", "--tls-http-client-certs", "none",
                 "--data-dir", os.path.join(tmp, "data"), "--listen", "0.0.0.0:0",
                 "--http", "0.0.0.0:0"] + (["--auth-jwks", ""] if role == "central" else
                                           ["--upstream-token-file", ""]),
                capture_output=True, text=True, timeout=30)
            c.check(r.returncode == 1 and "reachable from other hosts" in r.stderr,
                    f"{name}: without TLS and tokens on 0.0.0.0 the node refuses to start "
                    f"(protected mode); got exit {r.returncode}: {r.stderr.strip()[:300]}")
    # A misspelt key is refused: the check above would catch a wrong name.
    ok, out = print_config(kvd, "central", 'data-dir = "/tmp/x"\nlisten-address = "0.0.0.0:1"\n')
    c.check(not ok, f"an unknown key is refused by --print-config (got: {out.strip()})")
    c.finish()


if __name__ == "__main__":
    main()
