#!/usr/bin/env python3
"""deploy/systemd: `systemd-analyze verify` accepts both units (with ExecStart pointed at the
built kvd: verify needs the binary to exist), the hardening and restart settings are there, the
offline security exposure stays low, the sysusers.d file creates the kvd user, and ExecStart
with its example config passes `--print-config`. Skips (77) without systemd-analyze.

   check_systemd.py KVD SOURCE_DIR"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_common import Checks, parse_printed_config, skip  # noqa: E402

UNITS = {"kvd-central.service": ("central", "central.toml"),
         "kvd-edge.service": ("edge", "edge-full.toml")}

REQUIRED = {  # directive: value it must have ("" = empty)
    "User": "kvd", "Group": "kvd", "Type": "exec",
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
    "PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "",
    "LimitNOFILE": "65536", "Restart": "on-failure", "KillSignal": "SIGTERM",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes", "SystemCallArchitectures": "native", "UMask": "0077",
}
MAX_EXPOSURE = 2.5


def read_unit(path):
    """Section -> directive -> list of values (units repeat directives)."""
    out, section = {}, None
    for raw in open(path):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = re.match(r"^\[(.+)\]$", line)
        if m:
            section = out.setdefault(m.group(1), {})
            continue
        k, _, v = line.partition("=")
        section.setdefault(k.strip(), []).append(v.strip())
    return out


def main():
    kvd, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        skip("systemd-analyze is not installed (Debian package systemd); "
             "deploy/systemd was not verified")
    c = Checks("check_systemd")
    sysd = os.path.join(src, "deploy", "systemd")
    with tempfile.TemporaryDirectory() as tmp:
        copies = []
        for unit, (role, example) in UNITS.items():
            path = os.path.join(sysd, unit)
            if not c.check(os.path.exists(path), f"{unit} exists"):
                continue
            u = read_unit(path)
            svc = u.get("Service", {})
            for k, want in REQUIRED.items():
                got = svc.get(k, [None])[-1]
                c.check(got == want, f"{unit}: {k}={want} (got {got!r})")
            c.check(bool(svc.get("TimeoutStopSec")), f"{unit}: TimeoutStopSec set")
            state = svc.get("StateDirectory", [""])[-1]
            c.check(state.startswith("kvd/"), f"{unit}: StateDirectory=kvd/... (got {state!r})")
            c.check(u.get("Install", {}).get("WantedBy") == ["multi-user.target"],
                    f"{unit}: WantedBy=multi-user.target")
            c.check("network-online.target" in " ".join(u.get("Unit", {}).get("After", [])),
                    f"{unit}: After=network-online.target")
            exec_start = svc.get("ExecStart", [""])[-1]
            want_exec = f"/usr/bin/kvd {role} --config /etc/kvd/{role}.toml"
            c.check(exec_start == want_exec, f"{unit}: ExecStart={want_exec} (got {exec_start!r})")
            # The example config installed as /etc/kvd/<role>.toml: ExecStart accepts it, and its
            # data-dir is the unit's state directory.
            argv = exec_start.split()
            argv[0] = kvd
            argv[argv.index("--config") + 1] = os.path.join(src, "deploy", "config", example)
            r = subprocess.run(argv + ["--print-config"], capture_output=True, text=True, timeout=30)
            if c.check(r.returncode == 0, f"{unit}: ExecStart with {example} --print-config: {r.stderr.strip()}"):
                data_dir = parse_printed_config(r.stdout).get("data-dir")
                c.check(data_dir == f"/var/lib/{state}",
                        f"{unit}: data-dir of {example} ({data_dir}) is /var/lib/{state}")
                if role == "edge":  # edge.toml may be either edge example
                    r2 = subprocess.run(argv[:2] + ["--config", os.path.join(src, "deploy", "config", "edge-cache.toml"), "--print-config"],
                                        capture_output=True, text=True, timeout=30)
                    c.check(r2.returncode == 0 and parse_printed_config(r2.stdout).get("data-dir") == data_dir,
                            f"{unit}: edge-cache.toml has the same data-dir: {r2.stderr.strip()}")
            # verify needs ExecStart's binary to exist: point it at the built kvd.
            text = open(path).read().replace("ExecStart=/usr/bin/kvd ", f"ExecStart={kvd} ")
            copy = os.path.join(tmp, unit)
            with open(copy, "w") as f:
                f.write(text)
            copies.append(copy)
        if copies:
            r = subprocess.run([analyze, "verify", "--man=no", *copies],
                               capture_output=True, text=True, timeout=60, cwd=tmp)
            out = (r.stdout + r.stderr).strip()
            # Warnings (an unknown key, a key in the wrong section) do not change the exit
            # status: any line about our units is a failure.
            ours = [l for l in out.splitlines() if any(os.path.basename(p) in l for p in copies)]
            c.check(r.returncode == 0 and not ours,
                    f"systemd-analyze verify: exit {r.returncode}, output:\n{out}")
            for copy in copies:
                r = subprocess.run([analyze, "security", "--offline=yes", "--no-pager", copy],
                                   capture_output=True, text=True, timeout=60, cwd=tmp)
                m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
                if m is None:
                    print(f"note: systemd-analyze security --offline not supported here: {r.stderr.strip()[:200]}")
                    continue
                level = float(m.group(1))
                print(f"{os.path.basename(copy)}: exposure level {level}")
                c.check(level <= MAX_EXPOSURE,
                        f"{os.path.basename(copy)}: exposure {level} <= {MAX_EXPOSURE}")
        # sysusers.d: creates a system user kvd that cannot log in.
        sysusers = shutil.which("systemd-sysusers")
        users = os.path.join(sysd, "kvd.sysusers")
        c.check(os.path.exists(users), "deploy/systemd/kvd.sysusers exists")
        if sysusers and os.path.exists(users):
            root = os.path.join(tmp, "root")
            os.makedirs(os.path.join(root, "etc"))
            r = subprocess.run([sysusers, f"--root={root}", users], capture_output=True, text=True, timeout=30)
            passwd = open(os.path.join(root, "etc", "passwd")).read() if os.path.exists(os.path.join(root, "etc", "passwd")) else ""
            line = next((l for l in passwd.splitlines() if l.startswith("kvd:")), "")
            fields = line.split(":")
            c.check(r.returncode == 0 and len(fields) == 7, f"systemd-sysusers creates kvd: {r.stderr.strip()} {passwd!r}")
            if len(fields) == 7:
                c.check(0 < int(fields[2]) < 1000, f"kvd is a system user (uid {fields[2]})")
                c.check(fields[6] in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false"),
                        f"kvd cannot log in (shell {fields[6]})")
        else:
            print("note: systemd-sysusers not installed; kvd.sysusers not applied")
    c.finish()


if __name__ == "__main__":
    main()
