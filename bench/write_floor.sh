#!/usr/bin/env bash
# Durable Put at the central node against the gRPC floor, same run (issue 16's measuring stick):
#   bench/write_floor.sh [ROUNDS] [CONCURRENCY]
# Starts a central node with two full edges following it (so each write is also published to two
# downstreams) and kv_floor_server (a KV server that answers every call at once with an empty
# message, built like kvd). Rounds alternate between the two; each warms for 2 s, then measures
# 8 s of kvbench writes (CONCURRENCY in flight [64], 100-byte values, 100,000 keys) and prints
# ops/s, p99 and the server's CPU per Put (user + system from /proc/PID/stat; for the central node
# its own process only, the edges' apply is not counted), then the ratio of the means.
# With KVD_BASELINE=PATH (another kvd binary, e.g. one built from the commit before a change), a
# second central node with its two edges runs from it, and each round measures it too, so a
# change is compared with what came before in the same run (the machine is noisy).
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

# A central node from binary $1 with two full edges, files under $WORK/$2; sets ADDR and PID.
start_central() {
  local bin=$1 dir=$WORK/$2
  mkdir -p "$dir"
  ADDR=127.0.0.1:$(port)
  "$bin" central --listen "$ADDR" --data-dir "$dir/c" --ready-file "$dir/c.ready" \
    >"$dir/c.log" 2>&1 &
  PID=$!
  PIDS+=($PID)
  ready "$dir/c.ready"
  for e in 1 2; do
    "$bin" edge --mode full --upstream "$ADDR" --listen 127.0.0.1:0 --data-dir "$dir/e$e" \
      --node-id "e$e" --ready-file "$dir/e$e.ready" >"$dir/e$e.log" 2>&1 &
    PIDS+=($!)
    ready "$dir/e$e.ready"
  done
}
declare -A TARGET PID_OF
VARIANTS=(central)
start_central build/bin/kvd central
TARGET[central]=$ADDR PID_OF[central]=$PID
if [ -n "${KVD_BASELINE:-}" ]; then
  start_central "$KVD_BASELINE" baseline
  TARGET[baseline]=$ADDR PID_OF[baseline]=$PID
  VARIANTS+=(baseline)
fi
F=127.0.0.1:$(port)
build/bin/kv_floor_server --listen "$F" --ready-file "$WORK/f.ready" >"$WORK/f.log" 2>&1 &
PIDS+=($!)
TARGET[floor]=$F PID_OF[floor]=$!
VARIANTS+=(floor)
ready "$WORK/f.ready"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"

declare -A SUM=([central]=0 [baseline]=0 [floor]=0)
for round in $(seq 1 "$ROUNDS"); do
  for variant in "${VARIANTS[@]}"; do
    target=${TARGET[$variant]} pid=${PID_OF[$variant]}
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
c, b, f = ${SUM[central]} / $ROUNDS, ${SUM[baseline]} / $ROUNDS, ${SUM[floor]} / $ROUNDS
print(f'mean central {c:,.0f} Puts/s, floor {f:,.0f}: central / floor = {c / f:.2f} (target >= 0.8)')
if b: print(f'mean baseline {b:,.0f} Puts/s: baseline / floor = {b / f:.2f}, central / baseline = {c / b:.2f}')"
