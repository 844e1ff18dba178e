#!/usr/bin/env python3
"""deploy/kubernetes, validated offline: every manifest parses (python3-yaml) and is a kind and
apiVersion we know with the fields it needs; the central node is a one-replica StatefulSet with
a volumeClaimTemplate for its data, full edges a StatefulSet, cache edges a Deployment; every
container runs as non-root with resource requests, readiness on /readyz and liveness on
/healthz at the HTTP port of its config (HTTPS when the config has TLS); every volume is
mounted and every mount has a volume; the --config file, TLS files, token files and data-dir
of each pod are on its mounts (data on a persistent volume for central and full edges);
Services select existing pods and name their ports; the PodDisruptionBudget selects all edges
and not the central node; each config in the ConfigMap passes `kvd --print-config`.
Skips (77) without python3-yaml.

   check_kubernetes.py KVD SOURCE_DIR"""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_common import Checks, parse_printed_config, print_config, skip  # noqa: E402

try:
    import yaml
except ImportError:
    skip("python3-yaml is not installed (deploy/install-deps.sh installs it); "
         "deploy/kubernetes was not checked")

KNOWN = {("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Service"), ("v1", "Secret"),
         ("apps/v1", "StatefulSet"), ("apps/v1", "Deployment"), ("policy/v1", "PodDisruptionBudget")}
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def main():
    kvd, src = sys.argv[1], sys.argv[2]
    c = Checks("check_kubernetes")
    kdir = os.path.join(src, "deploy", "kubernetes")
    docs, files = [], sorted(glob.glob(os.path.join(kdir, "*.yaml")))
    kust = None
    for f in files:
        try:
            loaded = [d for d in yaml.safe_load_all(open(f)) if d is not None]
        except yaml.YAMLError as e:
            c.check(False, f"{os.path.basename(f)} parses: {e}")
            continue
        for d in loaded:
            if d.get("kind") == "Kustomization":
                kust = (f, d)
            else:
                docs.append((os.path.basename(f), d))
    # kustomization.yaml lists exactly the manifest files.
    if c.check(kust is not None, "kustomization.yaml exists"):
        listed = sorted(kust[1].get("resources", []))
        present = sorted(os.path.basename(f) for f in files if f != kust[0])
        c.check(listed == present, f"kustomization resources {listed} == manifest files {present}")
        c.check(kust[1].get("apiVersion") == "kustomize.config.k8s.io/v1beta1", "kustomization apiVersion")

    by_kind = {}
    for fname, d in docs:
        kind, api = d.get("kind"), d.get("apiVersion")
        name = (d.get("metadata") or {}).get("name", "")
        where = f"{fname}: {kind}/{name}"
        c.check((api, kind) in KNOWN, f"{where}: known apiVersion/kind ({api}, {kind})")
        c.check(bool(DNS1123.match(name or "")) and len(name) <= 63, f"{where}: metadata.name is a DNS-1123 label")
        c.check("namespace" not in d.get("metadata", {}), f"{where}: no namespace (kustomization sets it)")
        by_kind.setdefault(kind, []).append((fname, d))

    configmaps = {d["metadata"]["name"]: d for _, d in by_kind.get("ConfigMap", [])}
    # ConfigMap configs: each is a config kvd accepts.
    parsed_configs = {}
    for cmname, cm in configmaps.items():
        for key, text in (cm.get("data") or {}).items():
            if not key.endswith(".toml"):
                continue
            role = "central" if key.startswith("central") else "edge"
            ok, out = print_config(kvd, role, text)
            if c.check(ok, f"ConfigMap {cmname} {key}: kvd {role} --print-config: {out.strip()}"):
                parsed_configs[(cmname, key)] = parse_printed_config(out)

    workloads = by_kind.get("StatefulSet", []) + by_kind.get("Deployment", [])
    pods = {}  # workload name -> (kind, pod labels, containers)
    for fname, w in workloads:
        kind, name, spec = w["kind"], w["metadata"]["name"], w.get("spec", {})
        where = f"{fname}: {kind}/{name}"
        tmpl = spec.get("template", {})
        labels = tmpl.get("metadata", {}).get("labels", {})
        c.check(selects(spec.get("selector", {}).get("matchLabels"), labels),
                f"{where}: selector.matchLabels match the pod template's labels")
        pspec = tmpl.get("spec", {})
        psc = pspec.get("securityContext", {})
        claims = {t["metadata"]["name"]: t for t in spec.get("volumeClaimTemplates", [])}
        volumes = {v["name"]: v for v in pspec.get("volumes", [])}
        c.check(not (set(claims) & set(volumes)), f"{where}: volume and claim names distinct")
        if kind == "StatefulSet":
            svc = spec.get("serviceName")
            headless = [d for _, d in by_kind.get("Service", []) if d["metadata"]["name"] == svc]
            c.check(bool(headless) and headless[0]["spec"].get("clusterIP") == "None",
                    f"{where}: serviceName {svc} is a headless Service of the set")
        containers = pspec.get("containers", [])
        c.check(len(containers) >= 1, f"{where}: has containers")
        mounted = set()
        for ct in containers:
            cw = f"{where} container {ct.get('name')}"
            c.check(bool(ct.get("image")), f"{cw}: image")
            args = ct.get("args", [])
            role = args[0] if args else None
            c.check(role in ("central", "edge"), f"{cw}: args start with the role (got {args[:1]})")
            sc = ct.get("securityContext", {})
            run_as_non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
            uid = sc.get("runAsUser", psc.get("runAsUser"))
            c.check(run_as_non_root is True, f"{cw}: runAsNonRoot")
            c.check(isinstance(uid, int) and uid > 0, f"{cw}: runAsUser is a non-root uid ({uid})")
            c.check(sc.get("allowPrivilegeEscalation") is False, f"{cw}: allowPrivilegeEscalation false")
            c.check("ALL" in (sc.get("capabilities", {}).get("drop") or []), f"{cw}: drops all capabilities")
            req = ct.get("resources", {}).get("requests", {})
            c.check("cpu" in req and "memory" in req, f"{cw}: resource requests for cpu and memory ({req})")
            c.check("memory" in ct.get("resources", {}).get("limits", {}), f"{cw}: a memory limit")
            ports = {p.get("name"): p.get("containerPort") for p in ct.get("ports", [])}
            c.check({"grpc", "http"} <= set(ports), f"{cw}: ports named grpc and http ({ports})")
            # $(VAR) in args must be defined in env.
            env = {e["name"] for e in ct.get("env", [])}
            for a in args:
                for var in re.findall(r"\$\((\w+)\)", a):
                    c.check(var in env, f"{cw}: $({var}) in args is defined in env")
            # Mounts.
            mounts = {m["mountPath"]: m["name"] for m in ct.get("volumeMounts", [])}
            for path, vname in mounts.items():
                c.check(vname in volumes or vname in claims, f"{cw}: mount {vname} at {path} has a volume")
                mounted.add(vname)
            # Files under mounts: path -> source description.
            files = {}
            for path, vname in mounts.items():
                v = volumes.get(vname, {})
                sources = v.get("projected", {}).get("sources", []) if "projected" in v else [v]
                for s in sources:
                    for src_kind in ("configMap", "secret"):
                        if src_kind in s:
                            ref = s[src_kind]
                            ref_name = ref.get("name", ref.get("secretName"))
                            for item in ref.get("items", []):
                                files[os.path.join(path, item["path"])] = (src_kind, ref_name, item["key"])
            config = None
            if "--config" in args:
                cpath = args[args.index("--config") + 1]
                if c.check(cpath in files and files[cpath][0] == "configMap",
                           f"{cw}: --config {cpath} comes from a ConfigMap item"):
                    _, cmname, key = files[cpath]
                    c.check(key in (configmaps.get(cmname, {}).get("data") or {}),
                            f"{cw}: ConfigMap {cmname} has key {key}")
                    config = parsed_configs.get((cmname, key))
            if config is None:
                c.check(False, f"{cw}: has a config that passes --print-config")
                continue
            tls = bool(config.get("tls-cert"))
            for key in ("tls-cert", "tls-key", "tls-ca", "auth-jwks", "upstream-token-file"):
                if config.get(key):
                    c.check(config[key] in files and files[config[key]][0] == "secret",
                            f"{cw}: {key} {config[key]} is a Secret item on a mount")
            # data-dir on a mounted volume; persistent (claim) for central and full edges.
            ddir = config.get("data-dir", "")
            holder = [m for m in mounts if ddir == m or ddir.startswith(m.rstrip("/") + "/")]
            if c.check(bool(holder), f"{cw}: data-dir {ddir} is on a mount"):
                vname = mounts[max(holder, key=len)]
                if role == "central" or config.get("mode") == "full":
                    c.check(vname in claims, f"{cw}: data-dir is on a persistent volume claim")
            c.check(config.get("auth") == "required", f"{cw}: auth required")
            # Ports and probes from the config.
            http_port = int(config.get("http", ":0").rsplit(":", 1)[1])
            grpc_port = int(config.get("listen", ":0").rsplit(":", 1)[1])
            c.check(ports.get("http") == http_port, f"{cw}: port http {ports.get('http')} is the config's {http_port}")
            c.check(ports.get("grpc") == grpc_port, f"{cw}: port grpc {ports.get('grpc')} is the config's {grpc_port}")
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                hg = (ct.get(probe) or {}).get("httpGet", {})
                c.check(hg.get("path") == path, f"{cw}: {probe} on {path} (got {hg.get('path')})")
                c.check(hg.get("port") in ("http", http_port), f"{cw}: {probe} on the HTTP port")
                c.check(hg.get("scheme", "HTTP") == ("HTTPS" if tls else "HTTP"),
                        f"{cw}: {probe} scheme {'HTTPS' if tls else 'HTTP'}")
            sp = (ct.get("startupProbe") or {}).get("httpGet", {})
            if sp:
                c.check(sp.get("path") in ("/healthz", "/readyz"), f"{cw}: startupProbe on /healthz")
            pods[name] = (kind, labels, role, config.get("mode") or "", ports, bool(claims))
        for vname in list(volumes) + list(claims):
            c.check(vname in mounted, f"{where}: volume {vname} is mounted")

    # The three roles.
    roles = {(p[2], p[3]): (n, p[0], p[5]) for n, p in pods.items()}
    central = roles.get(("central", ""))
    c.check(central is not None and central[1] == "StatefulSet" and central[2],
            f"central node is a StatefulSet with a volumeClaimTemplate ({central})")
    if central:
        sts = next(d for _, d in workloads if d["metadata"]["name"] == central[0])
        c.check(sts["spec"].get("replicas") == 1, "central StatefulSet has exactly one replica")
    full = roles.get(("edge", "full"))
    c.check(full is not None and full[1] == "StatefulSet" and full[2],
            f"full edges are a StatefulSet with a volumeClaimTemplate ({full})")
    cache = roles.get(("edge", "cache"))
    c.check(cache is not None and cache[1] == "Deployment", f"cache edges are a Deployment ({cache})")

    # Services select pods and name ports those pods have.
    for fname, s in by_kind.get("Service", []):
        name, sel = s["metadata"]["name"], s["spec"].get("selector", {})
        matched = [n for n, p in pods.items() if selects(sel, p[1])]
        c.check(bool(matched), f"{fname}: Service {name} selects some pods ({sel})")
        for port in s["spec"].get("ports", []):
            tp = port.get("targetPort", port.get("port"))
            for n in matched:
                c.check(tp in pods[n][4] or tp in pods[n][4].values(),
                        f"{fname}: Service {name} targetPort {tp} exists in {n}")
    c.check(any(roles.get(("central", "")) and selects(s["spec"].get("selector"), pods[central[0]][1])
                for _, s in by_kind.get("Service", []) if central),
            "a Service reaches the central node")
    # Edges' upstream names a Service.
    svc_names = {s["metadata"]["name"] for _, s in by_kind.get("Service", [])}
    for (cm, key), cfg in parsed_configs.items():
        if cfg.get("upstream"):
            host, port = cfg["upstream"].rsplit(":", 1)
            c.check(host.split(".")[0] in svc_names, f"{key}: upstream {host} is a Service of the set")

    # The PDB: policy/v1, selects every edge workload, not the central node.
    pdbs = by_kind.get("PodDisruptionBudget", [])
    c.check(bool(pdbs), "a PodDisruptionBudget exists")
    for fname, p in pdbs:
        sel = p["spec"].get("selector", {}).get("matchLabels", {})
        chosen = {n for n, pod in pods.items() if selects(sel, pod[1])}
        edges = {n for n, pod in pods.items() if pod[2] == "edge"}
        c.check(chosen == edges and edges, f"{fname}: PDB selects the edges {sorted(edges)} (got {sorted(chosen)})")
        c.check(("maxUnavailable" in p["spec"]) != ("minAvailable" in p["spec"]),
                f"{fname}: PDB has one of maxUnavailable / minAvailable")
    c.finish()


if __name__ == "__main__":
    main()
