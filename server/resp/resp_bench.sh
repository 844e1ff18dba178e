#!/usr/bin/env bash
# RESP side by side with Redis, with the same tool (redis-benchmark) on both (docs/resp.md,
# "Benchmarks"). Starts a central node, a full edge (its hot read cache at the default 64 MiB)
# and a cache edge (256 MiB) serving RESP, a Redis primary with a replica and a Redis primary
# with appendonly yes / appendfsync always, loads the same 100,000 keys of 100 bytes into both
# stores, warms both edges by reading every key once, then runs, each pair back to back:
#   GET and MGET (10 keys) at each edge       vs at the Redis replica      (-P 1 and -P 16)
#   SET through the edge (durable at central) vs Redis with appendfsync always
# and prints requests/s, p50 latency and server CPU per request (from /proc/PID/stat).
#
#   server/resp/resp_bench.sh [--kvd PATH] [--requests N] [--clients N] [--resp-threads N]
#                             [--only get|mget|set] [--perf SECONDS]
#
# --perf records a profile of the full edge (PERF_TARGET=cache: the cache edge) during the GET
# run (with --only mget: the MGET run) with -P ${PERF_PIPELINE:-1} and prints the top of it;
# PERF_KEEP=FILE keeps perf.data, PERF_CALLGRAPH="--call-graph dwarf" replaces perf record's -g
# (libc has no frame pointers). FULL_EDGE_ARGS are added to the full edge's command line (e.g.
# "--hot-cache-bytes 16MiB", a hot cache smaller than the keys read). Needs redis-server,
# redis-tools (redis-benchmark, redis-cli) and, for --perf, linux-perf.
set -euo pipefail

KVD=${KVD:-build/bin/kvd}
REQUESTS=200000
CLIENTS=50
KEYS=100000
VALUE_SIZE=100
RESP_THREADS=1
ONLY=""
PERF=0
while [ $# -gt 0 ]; do
  case "$1" in
    --kvd) KVD=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --resp-threads) RESP_THREADS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --perf) PERF=$2; shift 2 ;;
    *) echo "usage: $0 [--kvd PATH] [--requests N] [--clients N] [--resp-threads N] [--only get|mget|set] [--perf S]" >&2; exit 2 ;;
  esac
done

BASE=${BASE_PORT:-17000}
C_GRPC=$BASE; C_RESP=$((BASE + 1)); E_GRPC=$((BASE + 2)); E_RESP=$((BASE + 3))
K_GRPC=$((BASE + 4)); K_RESP=$((BASE + 5))
R_PRIMARY=$((BASE + 10)); R_REPLICA=$((BASE + 11)); R_DURABLE=$((BASE + 12))
WORK=$(mktemp -d /tmp/respbench-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {  # port
  for _ in $(seq 1 300); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "resp_bench: nothing answers PING on port $1" >&2; exit 1
}

"$KVD" central --data-dir "$WORK/central" --listen 127.0.0.1:$C_GRPC --resp 127.0.0.1:$C_RESP \
  >"$WORK/central.log" 2>&1 &
CENTRAL_PID=$!; PIDS+=($CENTRAL_PID)
wait_port $C_RESP
"$KVD" edge --mode full --upstream 127.0.0.1:$C_GRPC --node-id edge --data-dir "$WORK/edge" \
  --listen 127.0.0.1:$E_GRPC --resp 127.0.0.1:$E_RESP --resp-threads "$RESP_THREADS" \
  ${FULL_EDGE_ARGS:-} >"$WORK/edge.log" 2>&1 &
EDGE_PID=$!; PIDS+=($EDGE_PID)
wait_port $E_RESP
"$KVD" edge --mode cache --upstream 127.0.0.1:$C_GRPC --node-id cache --data-dir "$WORK/cache" \
  --listen 127.0.0.1:$K_GRPC --resp 127.0.0.1:$K_RESP --resp-threads "$RESP_THREADS" \
  --cache-bytes 256MiB >"$WORK/cache.log" 2>&1 &
CACHE_PID=$!; PIDS+=($CACHE_PID)
wait_port $K_RESP

redis() {  # args...
  redis-server --bind 127.0.0.1 --save '' --daemonize no --dir "$WORK" "$@" >>"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
}
redis --port $R_PRIMARY --appendonly no --dbfilename p.rdb
REDIS_PRIMARY_PID=${PIDS[-1]}
redis --port $R_REPLICA --appendonly no --replicaof 127.0.0.1 $R_PRIMARY --dbfilename r.rdb
REDIS_REPLICA_PID=${PIDS[-1]}
redis --port $R_DURABLE --appendonly yes --appendfsync always --appendfilename d.aof --dbfilename d.rdb
REDIS_DURABLE_PID=${PIDS[-1]}
for p in $R_PRIMARY $R_REPLICA $R_DURABLE; do wait_port $p; done

# The same keys as redis-benchmark's -r: key:000000000000 .. key:000000099999.
python3 - "$WORK" "$KEYS" "$VALUE_SIZE" <<'PY'
import sys
work, keys, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
value = b'x' * size
parts = 20  # parallel loaders: writes of one connection commit one after another
files = [open(f'{work}/load.{i}.resp', 'wb') for i in range(parts)]
warm = open(f'{work}/warm', 'wb')
for k in range(keys):
    key = b'key:%012d' % k
    files[k % parts].write(b'*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n' % (len(key), key, len(value), value))
    warm.write(b'*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n' % (len(key), key))
for f in files + [warm]: f.close()
PY
load() {  # port
  local loaders=()
  for f in "$WORK"/load.*.resp; do
    redis-cli -p "$1" --pipe --pipe-timeout 120 <"$f" >"$f.out" 2>&1 &
    loaders+=($!)
  done
  for p in "${loaders[@]}"; do wait "$p" || { echo "resp_bench: loading port $1 failed" >&2; cat "$WORK"/load.*.out >&2; exit 1; }; done
}
start=$(date +%s.%N)
load $C_RESP
echo "loaded $KEYS keys into central through RESP in $(echo "$(date +%s.%N) - $start" | bc) s"
load $R_PRIMARY
head=$(redis-cli -p $C_RESP info replication | tr -d '\r' | awk -F: '/^kv_applied_version/ {print $2}')
for _ in $(seq 1 600); do
  applied=$(redis-cli -p $E_RESP info replication | tr -d '\r' | awk -F: '/^kv_applied_version/ {print $2}')
  [ "$applied" -ge "$head" ] && [ "$(redis-cli -p $R_REPLICA dbsize)" = "$KEYS" ] && break
  sleep 0.1
done
echo "edge applied $applied of $head; edge dbsize $(redis-cli -p $E_RESP dbsize) (estimate), redis replica dbsize $(redis-cli -p $R_REPLICA dbsize)"
# The cache edge holds what was read through it, and so does a full edge's hot read cache:
# read every key once at both (a full edge without the cache just reads RocksDB).
redis-cli -p $K_RESP --pipe --pipe-timeout 120 <"$WORK/warm" >/dev/null
echo "cache edge warmed: $(redis-cli -p $K_RESP dbsize) entries cached"
redis-cli -p $E_RESP --pipe --pipe-timeout 120 <"$WORK/warm" >/dev/null

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run NAME PORT PID PIPELINE ARGS...: one redis-benchmark run; prints a table row.
run() {
  local name=$1 port=$2 pid=$3 pipeline=$4
  shift 4
  local before after csv
  before=$(cpu_ticks "$pid")
  csv=$(redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$REQUESTS" -P "$pipeline" \
        -r "$KEYS" -d "$VALUE_SIZE" --csv "$@" 2>/dev/null | tail -1)
  after=$(cpu_ticks "$pid")
  # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  python3 - "$name" "$pipeline" "$csv" "$before" "$after" "$HZ" "$REQUESTS" <<'PY'
import sys
name, pipeline, csv, before, after, hz, n = sys.argv[1:8]
f = [x.strip('"') for x in csv.split(',')]
cpu_us = (int(after) - int(before)) / int(hz) * 1e6 / int(n)
print(f"| {name} | -P {pipeline} | {float(f[1]):,.0f} | {float(f[4]):.3f} | {float(f[6]):.3f} | {cpu_us:.1f} |")
PY
}

# The profiled run: GET, or MGET with --only mget (the first run of that kind with -P
# ${PERF_PIPELINE:-1} at the PERF_TARGET; the profile covers its first --perf seconds).
PERF_RUN=get
[ "$ONLY" = mget ] && PERF_RUN=mget
profiling() {  # get|mget
  [ "$PERF" -gt 0 ] && [ "$P" = "${PERF_PIPELINE:-1}" ] && [ "$1" = "$PERF_RUN" ]
}
perf_start() {
  local on=$EDGE_PID
  [ "${PERF_TARGET:-edge}" = cache ] && on=$CACHE_PID
  perf record ${PERF_CALLGRAPH:--g} -o "$WORK/perf.data" -p "$on" -- sleep "$PERF" >/dev/null 2>&1 &
  PERF_PID=$!
}
perf_stop() {
  wait $PERF_PID || true
  { perf report -i "$WORK/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -12
    echo
    perf report -i "$WORK/perf.data" --no-children --sort symbol -g none --stdio 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -45; } >"$WORK/perf.txt" || true
  # Kept for perf report --children / -g after the run.
  [ -n "${PERF_KEEP:-}" ] && cp "$WORK/perf.data" "$PERF_KEEP"
  return 0
}

MGET=(MGET key:__rand_int__ key:__rand_int__ key:__rand_int__ key:__rand_int__ key:__rand_int__
      key:__rand_int__ key:__rand_int__ key:__rand_int__ key:__rand_int__ key:__rand_int__)
echo
echo "$(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); -c $CLIENTS -n $REQUESTS, $KEYS keys of $VALUE_SIZE bytes, edge --resp-threads $RESP_THREADS"
echo "| run | pipeline | requests/s | p50 ms | p99 ms | server CPU µs/request |"
echo "| --- | --- | --- | --- | --- | --- |"
for P in 1 16; do
  if [ -z "$ONLY" ] || [ "$ONLY" = get ]; then
    if profiling get; then
      perf_start
      [ "${PERF_TARGET:-edge}" = cache ] && run "cache edge GET" $K_RESP $CACHE_PID $P -t get
      run "edge GET" $E_RESP $EDGE_PID $P -t get
      perf_stop
    else
      run "edge GET" $E_RESP $EDGE_PID $P -t get
    fi
    run "cache edge GET" $K_RESP $CACHE_PID $P -t get
    run "redis replica GET" $R_REPLICA $REDIS_REPLICA_PID $P -t get
  fi
  if [ -z "$ONLY" ] || [ "$ONLY" = mget ]; then
    if profiling mget && [ "${PERF_TARGET:-edge}" = edge ]; then perf_start; fi
    run "edge MGET 10" $E_RESP $EDGE_PID $P "${MGET[@]}"
    if profiling mget && [ "${PERF_TARGET:-edge}" = edge ]; then perf_stop; fi
    if profiling mget && [ "${PERF_TARGET:-edge}" = cache ]; then perf_start; fi
    run "cache edge MGET 10" $K_RESP $CACHE_PID $P "${MGET[@]}"
    if profiling mget && [ "${PERF_TARGET:-edge}" = cache ]; then perf_stop; fi
    run "redis replica MGET 10" $R_REPLICA $REDIS_REPLICA_PID $P "${MGET[@]}"
  fi
  if [ -z "$ONLY" ] || [ "$ONLY" = set ]; then
    run "SET through the edge" $E_RESP $EDGE_PID $P -t set
    run "redis SET, appendfsync always" $R_DURABLE $REDIS_DURABLE_PID $P -t set
  fi
done
# The full edge's hot read cache over the whole session, warming included (absent without one).
KVCTL=${KVCTL:-$(dirname "$0")/../../build/bin/kvctl}
if [ -x "$KVCTL" ]; then
  echo
  echo "full edge hot read cache (kvctl status):"
  "$KVCTL" --endpoint 127.0.0.1:$E_GRPC status 2>/dev/null | grep -A3 '^cache:' | sed 1d || true
fi
if [ -s "$WORK/perf.txt" ]; then
  echo
  echo "perf (${PERF_TARGET:-edge}, -P ${PERF_PIPELINE:-1} ${PERF_RUN^^}, ${PERF}s):"
  cat "$WORK/perf.txt"
fi
