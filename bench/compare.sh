#!/usr/bin/env bash
# Side-by-side performance of this store and Redis from Debian, on this machine.
#
#   bench/compare.sh [--duration SECONDS] [--keys N] [--value-size BYTES] [--out DIR]
#
# Starts a central node and two full edges (kvd), a Redis primary with a replica, and a Redis
# primary with appendonly yes / appendfsync always; preloads both stores with the same keys;
# then measures, with the same concurrency, value size and key count:
#   1. Get at an edge (kvbench, 50 in flight)    vs GET at the Redis replica (redis-benchmark)
#   2. durable Put at central (64 in flight)      vs SET at Redis with appendfsync always
#   3. replication lag ack -> visible at both edges under 5,000 background writes/s (kvbench lag)
#   4. HTTP GET of one key at an edge (wrk, 50 connections)
# and prints each figure and ratio. Raw outputs stay in --out (default: a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=10
KEYS=100000
VALUE_SIZE=100
OUT=""
BUILD_DIR=${BUILD_DIR:-build}
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --keys) KEYS=$2; shift 2 ;;
    --value-size) VALUE_SIZE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

bash deploy/install-deps.sh --bench
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j 2 --target kvd kvbench >/dev/null
BIN=$ROOT/$BUILD_DIR/bin

WORK=$(mktemp -d /tmp/kvcompare.XXXXXX)
OUT=${OUT:-$WORK/results}
mkdir -p "$OUT"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK/data"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_file() {  # the ready file a kvd writes once it serves
  for _ in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "compare.sh: $2 did not become ready; its log: $WORK/$2.log" >&2; exit 1
}
wait_redis() {
  for _ in $(seq 1 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "compare.sh: redis on port $1 did not start" >&2; exit 1
}
declare -A PID_OF
kvd() {  # name args...
  local name=$1; shift
  "$BIN/kvd" "$@" --ready-file "$WORK/$name.ready" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  PID_OF[$name]=$!
  wait_file "$WORK/$name.ready" "$name"
}
# CPU seconds a process has used (user + system): with the load generator on the same cores,
# server CPU per operation is steadier than throughput.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}
cpu_mark() { CPU_START=$(cpu_seconds "$1"); }
cpu_record() {  # pid name
  echo "$2 $(python3 -c "print($(cpu_seconds "$1") - $CPU_START)")" >>"$OUT/server_cpu.txt"
}

echo "== machine: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$WORK/data"
C=127.0.0.1:$(free_port); E1=127.0.0.1:$(free_port); E2=127.0.0.1:$(free_port)
E1_HTTP=127.0.0.1:$(free_port)
kvd central central --listen "$C" --data-dir "$WORK/data/central"
kvd edge-1 edge --mode full --upstream "$C" --listen "$E1" --http "$E1_HTTP" \
  --data-dir "$WORK/data/edge-1" --node-id edge-1
kvd edge-2 edge --mode full --upstream "$C" --listen "$E2" --data-dir "$WORK/data/edge-2" \
  --node-id edge-2
echo "== kvd: central $C, edges $E1 (HTTP $E1_HTTP) and $E2"

R_PRIMARY=$(free_port); R_REPLICA=$(free_port); R_DURABLE=$(free_port)
redis() {  # name args...
  local name=$1; shift
  redis-server --bind 127.0.0.1 --save '' --daemonize no --dir "$WORK/data" "$@" \
    >>"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  PID_OF[$name]=$!
}
redis redis-primary --port "$R_PRIMARY" --appendonly no
redis redis-replica --port "$R_REPLICA" --appendonly no --replicaof 127.0.0.1 "$R_PRIMARY"
redis redis-durable --port "$R_DURABLE" --appendonly yes --appendfsync always \
  --appendfilename durable.aof
for p in "$R_PRIMARY" "$R_REPLICA" "$R_DURABLE"; do wait_redis "$p"; done
echo "== redis $(redis-server --version | awk '{print $3}'): primary $R_PRIMARY, replica $R_REPLICA, durable $R_DURABLE"

echo "== preload: $KEYS keys x $VALUE_SIZE B into both stores"
"$BIN/kvbench" run --target "$C" --preload-only --keys "$KEYS" --value-size "$VALUE_SIZE" \
  --concurrency 64 --quiet --json >"$OUT/kv_preload.json"
redis-benchmark -p "$R_PRIMARY" -t set -n $((KEYS * 3)) -r "$KEYS" -d "$VALUE_SIZE" -c 50 -q \
  >/dev/null
for _ in $(seq 1 100); do  # the replica has caught up when it holds as many keys
  [ "$(redis-cli -p "$R_REPLICA" dbsize)" = "$(redis-cli -p "$R_PRIMARY" dbsize)" ] && break
  sleep 0.1
done
# Edges hold every key before anything is measured.
"$BIN/kvbench" lag --central "$C" --edge "$E1" --edge "$E2" --rate 100 --samples 5 --quiet \
  --json >/dev/null

# redis-benchmark has no duration flag: run it for about DURATION at the rate a short probe saw.
redis_ops() {  # port test clients
  local rps
  rps=$(redis-benchmark -p "$1" -t "$2" -n 20000 -r "$KEYS" -d "$VALUE_SIZE" -c "$3" --csv |
    awk -F'"' 'NR==2 {print int($4)}')
  echo $((rps * DURATION > 20000 ? rps * DURATION : 20000))
}
redis_bench() {  # name port test clients out
  local n
  n=$(redis_ops "$2" "$3" "$4")
  echo "$n" >"$5.n"
  cpu_mark "${PID_OF[$1]}"
  redis-benchmark -p "$2" -t "$3" -n "$n" -r "$KEYS" -d "$VALUE_SIZE" -c "$4" --csv >"$5"
  cpu_record "${PID_OF[$1]}" "$1-$3"
}
kv_bench() {  # name out args...
  local name=$1 out=$2; shift 2
  cpu_mark "${PID_OF[$name]}"
  "$BIN/kvbench" run --keys "$KEYS" --value-size "$VALUE_SIZE" --duration "${DURATION}s" \
    --warmup 2s --quiet --json "$@" >"$out"
  cpu_record "${PID_OF[$name]}" "$name"
}

echo "== 1. Get, 50 in flight"
kv_bench edge-1 "$OUT/kv_edge_get.json" --target "$E1" --workload read --concurrency 50
redis_bench redis-replica "$R_REPLICA" get 50 "$OUT/redis_replica_get.csv"
echo "== 2. durable Put, 64 in flight"
kv_bench central "$OUT/kv_central_put.json" --target "$C" --workload write --concurrency 64
redis_bench redis-durable "$R_DURABLE" set 64 "$OUT/redis_durable_set.csv"
echo "== 3. replication lag, 5,000 writes/s, two edges"
"$BIN/kvbench" lag --central "$C" --edge "$E1" --edge "$E2" --rate 5000 --samples 1000 \
  --keys "$KEYS" --value-size "$VALUE_SIZE" --quiet --json >"$OUT/kv_lag.json"
echo "== 4. HTTP GET at an edge (wrk, 50 connections)"
KEY=$(python3 -c "print('kvbench/' + str(42).zfill(len(str($KEYS - 1))))")
wrk -t 1 -c 50 -d "${DURATION}s" --latency "http://$E1_HTTP/v1/kv/${KEY//\//%2F}" \
  >"$OUT/wrk_edge_http.txt"

python3 - "$OUT" <<'EOF'
import csv, json, re, sys
out = sys.argv[1]
def kv(name):
    with open(f"{out}/{name}") as f:
        return json.loads(f.read().strip().splitlines()[-1])
def redis(name):
    with open(f"{out}/{name}") as f:
        row = list(csv.DictReader(f))[0]
    return float(row["rps"]), float(row["p99_latency_ms"]) * 1000
get, put, lag = kv("kv_edge_get.json"), kv("kv_central_put.json"), kv("kv_lag.json")
rget, rget_p99 = redis("redis_replica_get.csv")
rset, rset_p99 = redis("redis_durable_set.csv")
cpu = dict(l.split() for l in open(f"{out}/server_cpu.txt"))
def n(name): return float(open(f"{out}/{name}.n").read())
def kv_cpu_us(node, result):  # the window plus the 2 s warm-up ran at about the same rate
    return float(cpu[node]) * 1e6 / (result["ops_per_sec"] * (result["duration_s"] + 2))
def verdict(ok): return "met" if ok else "MISSED"
print()
print(f"{'measure':44} {'kvstore':>12} {'redis':>12} {'ratio':>7}  target")
g, gp99 = get["ops_per_sec"], get["latency_us"]["p99"]
print(f"{'edge Get ops/s (50 in flight)':44} {g:12,.0f} {rget:12,.0f} {g / rget:7.2f}  "
      f">= 1.00: {verdict(g >= rget)}")
print(f"{'edge Get p99 us':44} {gp99:12,.0f} {rget_p99:12,.0f} {'':7}  "
      f"< 2000: {verdict(gp99 < 2000)}")
print(f"{'  server CPU us per Get':44} {kv_cpu_us('edge-1', get):12.1f} "
      f"{float(cpu['redis-replica-get']) * 1e6 / n('redis_replica_get.csv'):12.1f}")
p, pp99 = put["ops_per_sec"], put["latency_us"]["p99"]
print(f"{'durable Put ops/s (64 in flight)':44} {p:12,.0f} {rset:12,.0f} {p / rset:7.2f}  "
      f">= 1.00: {verdict(p >= rset)}")
print(f"{'durable Put p99 us':44} {pp99:12,.0f} {rset_p99:12,.0f}")
print(f"{'  server CPU us per Put':44} {kv_cpu_us('central', put):12.1f} "
      f"{float(cpu['redis-durable-set']) * 1e6 / n('redis_durable_set.csv'):12.1f}")
for e in lag["edges"]:
    l = e["lag_us"]
    print(f"{'lag ack->visible p99 us, ' + e['target']:44} {l['p99']:12,.0f} {'':12} {'':7}  "
          f"< 1000: {verdict(l['p99'] < 1000)}  (p50 {l['p50']:,.0f}, max {l['max']:,.0f}, "
          f"poll rtt p50 {e['poll_rtt_us']['p50']:,.0f})")
bg = lag["background"]
print(f"{'  background writes/s achieved':44} {bg['achieved_rate']:12,.0f}")
text = open(f"{out}/wrk_edge_http.txt").read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p99 = re.search(r"99%\s+(\S+)", text).group(1)
print(f"{'edge HTTP GET req/s (wrk, 50 conns)':44} {rps:12,.0f} {'':12} {'':7}  p99 {p99}")
print(f"\nraw results: {out}")
EOF
