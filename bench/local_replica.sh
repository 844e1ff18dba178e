#!/usr/bin/env bash
# LocalReplica benchmarks against a real central node:
#   bench/local_replica.sh [KEYS] [-- extra Google Benchmark flags]
# Starts a central node, preloads KEYS keys of 100 B with kvbench (default 100,000), and runs
# build/bin/local_replica_bench (hot Get and BatchGet from 1 and 2 threads with p50/p99/p999,
# and the full copy's heap bytes per raw byte). Build first: ninja -C build local_replica_bench
# kvd kvbench. LOCAL_REPLICA_BENCH="BIN1 BIN2 ..." runs each of those binaries in turn, twice,
# against the same central node (an A/B of two builds on equal terms).
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${1:-100000}
shift || true
[ "${1:-}" = "--" ] && shift
WORK=$(mktemp -d /tmp/kvreplica.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$WORK"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ready() { for _ in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.1; done; exit 1; }

C=127.0.0.1:$(port)
build/bin/kvd central --listen "$C" --data-dir "$WORK/c" --ready-file "$WORK/c.ready" \
  >"$WORK/c.log" 2>&1 &
PIDS+=($!)
ready "$WORK/c.ready"
build/bin/kvbench run --target "$C" --preload-only --keys "$KEYS" --quiet --json >/dev/null
machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
}
if [ -z "${LOCAL_REPLICA_BENCH:-}" ]; then
  machine
  KV_UPSTREAM=$C KV_KEYS=$KEYS build/bin/local_replica_bench "$@"
  exit 0
fi
for round in 1 2; do
  for bin in $LOCAL_REPLICA_BENCH; do
    echo "== $bin, round $round"
    machine
    KV_UPSTREAM=$C KV_KEYS=$KEYS "$bin" "$@"
  done
done
