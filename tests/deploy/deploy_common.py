"""Helpers shared by the deployment checks in tests/deploy (run by ctest, see CMakeLists.txt)."""
import os
import subprocess
import sys
import tempfile

SKIP = 77  # ctest SKIP_RETURN_CODE


class Checks:
    """Collects failures so one run reports all of them; exit status 1 if any."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.passed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)
            print(f"FAIL: {what}", flush=True)
        return ok

    def finish(self):
        if self.failures:
            print(f"{self.name}: {len(self.failures)} failure(s), {self.passed} check(s) passed")
            sys.exit(1)
        print(f"{self.name}: all {self.passed} checks passed")
        sys.exit(0)


def skip(message):
    print(f"SKIPPED: {message}", flush=True)
    sys.exit(SKIP)


def print_config(kvd, role, toml_text, extra=()):
    """Runs `kvd ROLE --config FILE --print-config` on toml_text: (ok, stdout + stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(toml_text)
        path = f.name
    try:
        r = subprocess.run([kvd, role, "--config", path, "--print-config", *extra],
                           capture_output=True, text=True, timeout=30)
        return r.returncode == 0, r.stdout + r.stderr
    finally:
        os.unlink(path)


def parse_printed_config(text):
    """`key=value` lines of --print-config into a dict of strings (quotes removed)."""
    out = {}
    for line in text.splitlines():
        if "=" not in line or line.startswith("#"):
            continue
        k, v = line.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
            v = v[1:-1]
        out[k.strip()] = v
    return out


def role_of_config(name, text):
    """central or edge, from a config file's name (central.toml, edge-*.toml)."""
    return "central" if "central" in os.path.basename(name) else "edge"
