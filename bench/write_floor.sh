#!/usr/bin/env bash
# Durable Put at the central node against the gRPC floor, same run (issue 16's measuring stick):
#   bench/write_floor.sh [ROUNDS] [CONCURRENCY]
# Starts a central node with two full edges following it (so each write is also published to two
# downstreams) and kv_floor_server (a KV server that answers every call at once with an empty
# message, built like kvd). Rounds alternate between the two; each warms for 2 s, then measures
# 8 s of kvbench writes (CONCURRENCY in flight [64], 100-byte values, 100,000 keys) and prints
# ops/s, p99 and the server's CPU per Put (user + system from /proc/PID/stat; for the central node
# its own process only, the edges' apply is not counted), then the ratio of the means.
# Build first: ninja -C build kvd kvbench kv_floor_server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
CONCURRENCY=${2:-64}
WORK=$(mktemp -d /tmp/kvfloor.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$WORK"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ready() { for _ in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }

C=127.0.0.1:$(port)
build/bin/kvd central --listen "$C" --data-dir "$WORK/c" --ready-file "$WORK/c.ready" \
  >"$WORK/c.log" 2>&1 &
CENTRAL=$!
PIDS+=($CENTRAL)
ready "$WORK/c.ready"
for e in 1 2; do
  build/bin/kvd edge --mode full --upstream "$C" --listen 127.0.0.1:0 --data-dir "$WORK/e$e" \
    --node-id "e$e" --ready-file "$WORK/e$e.ready" >"$WORK/e$e.log" 2>&1 &
  PIDS+=($!)
  ready "$WORK/e$e.ready"
done
F=127.0.0.1:$(port)
build/bin/kv_floor_server --listen "$F" --ready-file "$WORK/f.ready" >"$WORK/f.log" 2>&1 &
FLOOR=$!
PIDS+=($FLOOR)
ready "$WORK/f.ready"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"

declare -A SUM=([central]=0 [floor]=0)
for round in $(seq 1 "$ROUNDS"); do
  for variant in central floor; do
    target=$C pid=$CENTRAL
    [ "$variant" = floor ] && target=$F pid=$FLOOR
    build/bin/kvbench run --target "$target" --workload write --concurrency "$CONCURRENCY" \
      --keys 100000 --value-size 100 --duration 2s --warmup 0s --quiet --json >/dev/null
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    out=$(build/bin/kvbench run --target "$target" --workload write --concurrency "$CONCURRENCY" \
      --keys 100000 --value-size 100 --duration 8s --warmup 0s --quiet --json | tail -1)
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    ops=$(python3 -c "
import json, sys
j = json.loads(sys.argv[1])
cpu_us = ($after - $before) * 1e6 / $(getconf CLK_TCK) / max(1, j['ops'])
print(f\"round $round $variant: {j['ops_per_sec']:,.0f} Puts/s, p99 {j['latency_us']['p99'] / 1000:.1f} ms, \"
      f\"{cpu_us:.1f} us server CPU per Put, errors {sum(j['errors'].values()) if isinstance(j.get('errors'), dict) else j.get('errors', 0)}, load {j['loadavg_before'][0]}\", file=sys.stderr)
print(j['ops_per_sec'])" "$out")
    SUM[$variant]=$(python3 -c "print(${SUM[$variant]} + $ops)")
  done
done
python3 -c "
c, f = ${SUM[central]} / $ROUNDS, ${SUM[floor]} / $ROUNDS
print(f'mean central {c:,.0f} Puts/s, floor {f:,.0f}: central / floor = {c / f:.2f} (target >= 0.8)')"
