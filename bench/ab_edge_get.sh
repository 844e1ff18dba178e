#!/usr/bin/env bash
# A/B of two kvd binaries serving Gets at a full edge, alternating, for a change's before/after:
#   bench/ab_edge_get.sh OLD_KVD NEW_KVD [ROUNDS]
# One central node (NEW_KVD) is preloaded with 100,000 keys of 100 B; each round starts an edge
# with each binary in turn, warms it for 2 s, then measures 8 s of kvbench reads (50 in flight)
# and prints ops/s, p99 and the edge's CPU per Get (user + system, from /proc/PID/stat).
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$(realpath "$1")
NEW=$(realpath "$2")
ROUNDS=${3:-3}
KVBENCH=$PWD/build/bin/kvbench
WORK=$(mktemp -d /tmp/kvab.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$WORK"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ready() { for _ in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.1; done; exit 1; }

C=127.0.0.1:$(port)
"$NEW" central --listen "$C" --data-dir "$WORK/c" --ready-file "$WORK/c.ready" >"$WORK/c.log" 2>&1 &
PIDS+=($!)
ready "$WORK/c.ready"
"$KVBENCH" run --target "$C" --preload-only --keys 100000 --quiet --json >/dev/null
for round in $(seq 1 "$ROUNDS"); do
  for variant in old new; do
    bin=$OLD
    [ "$variant" = new ] && bin=$NEW
    E=127.0.0.1:$(port)
    rm -f "$WORK/e.ready"
    "$bin" edge --mode full --upstream "$C" --listen "$E" --data-dir "$WORK/e-$variant" \
      --node-id "e-$variant" --ready-file "$WORK/e.ready" >"$WORK/e-$variant.log" 2>&1 &
    pid=$!
    ready "$WORK/e.ready"
    "$KVBENCH" run --target "$E" --workload read --concurrency 50 --keys 100000 --duration 2s \
      --warmup 1s --quiet --json >/dev/null
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    out=$("$KVBENCH" run --target "$E" --workload read --concurrency 50 --keys 100000 \
      --duration 8s --warmup 0s --quiet --json | tail -1)
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    python3 -c "
import json, sys
j = json.loads(sys.argv[1])
cpu_us = ($after - $before) * 1e6 / $(getconf CLK_TCK) / j['ops']
print(f\"round $round $variant: {j['ops_per_sec']:,.0f} ops/s, p99 {j['latency_us']['p99'] / 1000:.1f} ms, \"
      f\"{cpu_us:.1f} us CPU per Get, load {j['loadavg_before'][0]}\")" "$out"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
done
