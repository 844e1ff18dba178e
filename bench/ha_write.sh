#!/usr/bin/env bash
# Durable Put at a leader with one standby (--ha-etcd, --sync-standbys 1) against a lone central
# node, same run (docs/ha.md): what semi-synchronous standbys cost a writer.
#   bench/ha_write.sh [ROUNDS] [CONCURRENCY]
# Starts a real etcd, two `kvd central --ha-etcd` nodes (a leader and its standby) and one lone
# central node; rounds alternate between the leader and the lone node, each a 2 s warm-up then
# 8 s of kvbench writes (CONCURRENCY in flight [64], 100-byte values, 100,000 keys), and print
# ops/s and p99, then the ratio of the means.
# Build first: ninja -C build kvd kvbench.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
CONCURRENCY=${2:-64}
WORK=$(mktemp -d /tmp/kvhaw.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$WORK"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ready() { for _ in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }

EC=127.0.0.1:$(port)
EP=127.0.0.1:$(port)
etcd --data-dir "$WORK/etcd" --listen-client-urls "http://$EC" --advertise-client-urls "http://$EC" \
  --listen-peer-urls "http://$EP" --initial-advertise-peer-urls "http://$EP" \
  --initial-cluster "default=http://$EP" >"$WORK/etcd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -fs "http://$EC/health" >/dev/null 2>&1 && break; sleep 0.1; done
declare -A ADDR
for n in h1 h2; do
  ADDR[$n]=127.0.0.1:$(port)
  build/bin/kvd central --node-id "$n" --listen "${ADDR[$n]}" --data-dir "$WORK/$n" \
    --ha-etcd "$EC" --ha-cluster bench --ready-file "$WORK/$n.ready" >"$WORK/$n.log" 2>&1 &
  PIDS+=($!)
  ready "$WORK/$n.ready"
done
LONE=127.0.0.1:$(port)
build/bin/kvd central --node-id lone --listen "$LONE" --data-dir "$WORK/lone" \
  --ready-file "$WORK/lone.ready" >"$WORK/lone.log" 2>&1 &
PIDS+=($!)
ready "$WORK/lone.ready"
LEADER=""
for _ in $(seq 1 100); do
  for n in h1 h2; do
    if build/bin/kvctl --endpoint "${ADDR[$n]}" status 2>/dev/null | grep -q "central (leader)" &&
       build/bin/kvctl --endpoint "${ADDR[$n]}" status 2>/dev/null | grep -q "in sync: *h"; then
      LEADER=${ADDR[$n]}
    fi
  done
  [ -n "$LEADER" ] && break
  sleep 0.2
done
[ -n "$LEADER" ] || { echo "no leader with a standby in sync" >&2; tail -5 "$WORK"/h*.log >&2; exit 1; }
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ); leader $LEADER"

declare -A SUM=([leader]=0 [lone]=0)
for round in $(seq 1 "$ROUNDS"); do
  for variant in leader lone; do
    target=$LEADER
    [ "$variant" = lone ] && target=$LONE
    build/bin/kvbench run --target "$target" --workload write --concurrency "$CONCURRENCY" \
      --keys 100000 --value-size 100 --duration 2s --warmup 0s --quiet --json >/dev/null
    out=$(build/bin/kvbench run --target "$target" --workload write --concurrency "$CONCURRENCY" \
      --keys 100000 --value-size 100 --duration 8s --warmup 0s --quiet --json | tail -1)
    ops=$(python3 -c "
import json, sys
j = json.loads(sys.argv[1])
errors = j.get('errors', 0)
errors = sum(errors.values()) if isinstance(errors, dict) else errors
print(f\"round $round $variant: {j['ops_per_sec']:,.0f} Puts/s, p99 {j['latency_us']['p99'] / 1000:.1f} ms, errors {errors}\", file=sys.stderr)
print(j['ops_per_sec'])" "$out")
    SUM[$variant]=$(python3 -c "print(${SUM[$variant]} + $ops)")
  done
done
python3 -c "
l, c = ${SUM[leader]} / $ROUNDS, ${SUM[lone]} / $ROUNDS
print(f'mean leader with a standby {l:,.0f} Puts/s, lone central {c:,.0f}: ratio {l / c:.2f}')"
