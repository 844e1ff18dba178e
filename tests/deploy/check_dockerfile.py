#!/usr/bin/env python3
"""deploy/container/Dockerfile, checked offline (no Docker in CI): a builder stage on
debian:bookworm that runs deploy/install-deps.sh and builds kvd and kvctl; a runtime stage on
debian:bookworm-slim that installs no build tools, runs as a non-root numeric user it creates,
has /var/lib/kvd and /etc/kvd as volumes, and installs a package for every shared library the
built kvd and kvctl load (ldd, mapped with dpkg -S; the base image's required packages and
the installed packages' dependencies count). Skips (77) without dpkg or ldd.

   check_dockerfile.py SOURCE_DIR BINARY..."""
import os
import re
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_common import Checks, skip  # noqa: E402

# Allowed in the runtime stage though they provide no library of the binaries.
EXTRA_RUNTIME_PACKAGES = {"ca-certificates"}


def instructions(path):
    """(INSTRUCTION, argument text) with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):  # comment inside a continued instruction
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        word, _, rest = cur.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def stages(instrs):
    result = []
    for word, rest in instrs:
        if word == "FROM":
            parts = rest.split()
            flags = [p for p in parts if p.startswith("--")]
            parts = [p for p in parts if not p.startswith("--")]
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            result.append({"image": parts[0], "name": name, "flags": flags, "instrs": []})
        elif result:
            result[-1]["instrs"].append((word, rest))
    return result


def apt_installed_packages(run_text):
    """Package names after `apt-get install` in a RUN (up to the next && or ;)."""
    pkgs = []
    for m in re.finditer(r"apt-get\s+install\s+(.*?)(?:&&|;|$)", run_text):
        pkgs += [w for w in shlex.split(m.group(1)) if not w.startswith("-")]
    return pkgs


def dpkg_query(fmt, pkgs):
    r = subprocess.run(["dpkg-query", "-W", "-f", fmt, *pkgs], capture_output=True, text=True)
    return r.stdout


def packages_of(paths):
    """path -> the Debian package that ships it (tries the path, its real path and the /usr
    merge), with one dpkg -S call."""
    cands = {}
    for path in paths:
        c = [path, os.path.realpath(path)]
        c += [p[4:] if p.startswith("/usr/") else "/usr" + p for p in list(c)]
        cands[path] = c
    every = sorted({p for c in cands.values() for p in c})
    r = subprocess.run(["dpkg", "-S", *every], capture_output=True, text=True)
    owner = {}
    for line in r.stdout.splitlines():
        pkgs, _, f = line.partition(": ")
        owner[f.strip()] = pkgs.split(",")[0].split(":")[0].strip()
    return {path: next((owner[p] for p in c if p in owner), None) for path, c in cands.items()}


_INSTALLED = None


def installed():
    """Installed package -> its Depends and Pre-Depends, read with one dpkg-query."""
    global _INSTALLED
    if _INSTALLED is None:
        _INSTALLED = {}
        text = dpkg_query("${Package}\t${Status}\t${Depends}, ${Pre-Depends}\n", [])
        for line in text.splitlines():
            name, status, deps = (line.split("\t") + ["", ""])[:3]
            if status.endswith(" installed"):
                _INSTALLED[name] = deps
    return _INSTALLED


def closure(pkgs):
    """pkgs and every installed package they depend on (Depends, Pre-Depends), recursively."""
    inst = installed()
    seen, todo = set(), list(pkgs)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for alt in inst.get(p, "").split(","):
            for choice in alt.split("|"):
                name = choice.strip().split(" ")[0].split(":")[0]
                if name and name not in seen and name in inst:
                    todo.append(name)
    return seen


def main():
    src, binaries = sys.argv[1], sys.argv[2:]
    for tool in ("dpkg", "dpkg-query", "ldd"):
        if not shutil.which(tool):
            skip(f"{tool} is not available: the runtime libraries of the Dockerfile were not checked")
    c = Checks("check_dockerfile")
    path = os.path.join(src, "deploy", "container", "Dockerfile")
    st = stages(instructions(path))
    if not c.check(len(st) >= 2, f"multi-stage Dockerfile ({len(st)} stages)"):
        c.finish()
    build, runtime = st[0], st[-1]
    c.check(build["image"] == "debian:bookworm" and build["name"],
            f"builder FROM debian:bookworm AS <name> (got {build['image']} {build['name']})")
    c.check(runtime["image"] in ("debian:bookworm-slim", "debian:bookworm"),
            f"runtime FROM debian:bookworm-slim (got {runtime['image']})")
    brun = " ".join(r for w, r in build["instrs"] if w == "RUN")
    c.check("install-deps.sh" in brun, "builder installs its packages with deploy/install-deps.sh")
    c.check(any(w == "COPY" and "deploy/install-deps.sh" in r for w, r in build["instrs"]),
            "builder copies deploy/install-deps.sh")
    c.check(re.search(r"--target\s+kvd\s+kvctl|--target\s+kvctl\s+kvd", brun) is not None,
            "builder builds the kvd and kvctl targets")

    rinstr = runtime["instrs"]
    rrun = " && ".join(r for w, r in rinstr if w == "RUN")
    runtime_pkgs = apt_installed_packages(rrun)
    c.check("--no-install-recommends" in rrun, "runtime apt-get install --no-install-recommends")
    c.check("rm -rf /var/lib/apt/lists" in rrun, "runtime removes the apt lists (small image)")
    for p in runtime_pkgs:
        c.check(not (p.endswith("-dev") or p in ("build-essential", "cmake", "ninja-build", "g++", "gcc")),
                f"runtime installs no build tools or -dev packages ({p})")
    # The user: numeric, not root, created in this stage.
    users = [r for w, r in rinstr if w == "USER"]
    user = users[-1].split(":")[0] if users else ""
    c.check(bool(users), "runtime stage sets USER")
    c.check(user.isdigit() and int(user) != 0,
            f"USER is a numeric uid other than 0 (Kubernetes runAsNonRoot can check it), got {user!r}")
    if user.isdigit():
        c.check(re.search(rf"useradd\b[^&;]*--uid\s+{user}\b", rrun) is not None,
                f"runtime creates the user with uid {user}")
    volumes = []
    for w, r in rinstr:
        if w == "VOLUME":
            volumes += re.findall(r'"([^"]+)"', r) if r.startswith("[") else r.split()
    for v in ("/var/lib/kvd", "/etc/kvd"):
        c.check(v in volumes, f"VOLUME {v} (got {volumes})")
    c.check(re.search(r"install -d -o kvd -g kvd\b[^&;]*/var/lib/kvd", rrun) is not None,
            "the data directory is owned by the kvd user")
    copies = [r for w, r in rinstr if w == "COPY" and f"--from={build['name']}" in r]
    for b in ("kvd", "kvctl"):
        c.check(any(re.search(rf"/{b}\b", r) and "/usr/bin/" in r for r in copies),
                f"runtime copies {b} from the builder into /usr/bin")
    ep = [r for w, r in rinstr if w == "ENTRYPOINT"]
    c.check(ep and ep[-1].replace(" ", "") == '["/usr/bin/kvd"]', f"ENTRYPOINT [\"/usr/bin/kvd\"] (got {ep})")
    cmd = [r for w, r in rinstr if w == "CMD"]
    c.check(cmd and "/etc/kvd/central.toml" in cmd[-1], "CMD runs the central node with /etc/kvd/central.toml")

    # Libraries: every one the binaries load comes with the runtime stage.
    missing = [p for p in runtime_pkgs if p not in installed()]
    c.check(not missing, f"the runtime packages exist on this (bookworm) machine: not installed here {missing}")
    base = {line.split()[0] for line in dpkg_query("${Package} ${Priority} ${Essential}\n", []).splitlines()
            if " required" in line or line.endswith(" yes")}
    provided = closure(set(runtime_pkgs) | base)
    needed, libs = {}, {}
    for binary in binaries:
        r = subprocess.run(["ldd", binary], capture_output=True, text=True)
        if not c.check(r.returncode == 0, f"ldd {binary}: {r.stderr.strip()}"):
            continue
        for line in r.stdout.splitlines():
            m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
            if not m:
                continue  # the vdso and the dynamic loader itself
            if c.check(m.group(2) != "not", f"{binary}: {m.group(1)} is found"):
                libs[m.group(2)] = m.group(1)
    for path, pkg in packages_of(libs).items():
        c.check(pkg is not None, f"{path} belongs to a Debian package")
        if pkg:
            needed.setdefault(pkg, set()).add(libs[path])
    for pkg, libs in sorted(needed.items()):
        c.check(pkg in provided, f"package {pkg} (for {', '.join(sorted(libs))}) is installed by the "
                                 f"runtime stage or comes with it")
    for p in runtime_pkgs:
        if p in EXTRA_RUNTIME_PACKAGES:
            continue
        # Each package installed on purpose provides some library the binaries load.
        c.check(p in needed or p in closure(set(needed) & set(runtime_pkgs) - {p}),
                f"runtime package {p} is needed by kvd or kvctl")
    print(f"libraries from {len(needed)} packages; runtime installs {sorted(runtime_pkgs)}")
    c.finish()


if __name__ == "__main__":
    main()
