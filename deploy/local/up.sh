#!/usr/bin/env bash
# Starts a local cluster in the foreground: installs what is missing, builds kvd and kvctl,
# starts the central node and its edges, prints the endpoints and example commands, and stops
# everything cleanly on Ctrl-C.
#
#   deploy/local/up.sh [--data-dir DIR] [--base-port N] [--no-build]
#
# Topology (ports from --base-port, default 7000):
#   central     N       writes and the authoritative copy
#   edge-a      N+101   full edge, follows central (and relays to edge-b)
#   edge-b      N+102   full edge behind the relay edge-a
#   edge-c      N+103   cache edge (hot keys only), follows central
# HTTP (/v1/kv, /metrics, /healthz, /readyz) on N+1000 + the same offsets.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

DATA_DIR=""
BASE_PORT=7000
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) DATA_DIR=$2; shift 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "up.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

BUILD_DIR=${BUILD_DIR:-build}
if [ "$BUILD" = 1 ]; then
  bash deploy/install-deps.sh
  cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  echo "up.sh: building kvd and kvctl (the first build takes several minutes)..."
  cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target kvd kvctl
fi
KVD="$ROOT/$BUILD_DIR/bin/kvd"
KVCTL="$ROOT/$BUILD_DIR/bin/kvctl"

if [ -z "$DATA_DIR" ]; then
  DATA_DIR=$(mktemp -d /tmp/kvcluster-XXXXXX)
  echo "up.sh: data in $DATA_DIR (temporary; pass --data-dir to keep it)"
fi
mkdir -p "$DATA_DIR"

PIDS=()
NAMES=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "up.sh: stopping the cluster..."
  # Edges first, then the central node, each with SIGTERM (a clean RocksDB close).
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null || true
    wait "${PIDS[$i]}" 2>/dev/null || true
  done
  echo "up.sh: stopped. Data kept in $DATA_DIR"
}
# Ctrl-C is the normal way to stop: exit 0 once everything has stopped.
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

# start NAME PORT_OFFSET ARGS...: starts a node and waits until it serves.
start() {
  local name=$1 offset=$2
  shift 2
  local ready="$DATA_DIR/$name.ready"
  rm -f "$ready"
  "$KVD" "$@" --data-dir "$DATA_DIR/$name" --node-id "$name" \
    --listen "127.0.0.1:$((BASE_PORT + offset))" --http "127.0.0.1:$((BASE_PORT + 1000 + offset))" \
    --ready-file "$ready" >>"$DATA_DIR/$name.log" 2>&1 &
  PIDS+=($!)
  NAMES+=("$name")
  for _ in $(seq 1 300); do
    [ -s "$ready" ] && return 0
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then
      echo "up.sh: $name failed to start; its log ($DATA_DIR/$name.log) ends with:" >&2
      tail -n 20 "$DATA_DIR/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "up.sh: $name did not become ready in 30 s; see $DATA_DIR/$name.log" >&2
  exit 1
}

CENTRAL=127.0.0.1:$BASE_PORT
start central 0 central
start edge-a 101 edge --mode full --upstream "$CENTRAL"
start edge-b 102 edge --mode full --upstream "127.0.0.1:$((BASE_PORT + 101))"
if "$KVD" edge --help 2>/dev/null | grep -q -- "--cache-bytes" && [ "${KV_NO_CACHE_EDGE:-0}" != 1 ]; then
  start edge-c 103 edge --mode cache --cache-bytes 64MiB --upstream "$CENTRAL"
fi

cat <<EOF2

Cluster is up (logs in $DATA_DIR/*.log):
  central   gRPC $CENTRAL            HTTP 127.0.0.1:$((BASE_PORT + 1000))   writes go here
  edge-a    gRPC 127.0.0.1:$((BASE_PORT + 101))   HTTP 127.0.0.1:$((BASE_PORT + 1101))   full edge, follows central, relays to edge-b
  edge-b    gRPC 127.0.0.1:$((BASE_PORT + 102))   HTTP 127.0.0.1:$((BASE_PORT + 1102))   full edge behind the relay edge-a
EOF2
if [ "${#NAMES[@]}" -gt 3 ]; then
  echo "  edge-c    gRPC 127.0.0.1:$((BASE_PORT + 103))   HTTP 127.0.0.1:$((BASE_PORT + 1103))   cache edge (hot keys), follows central"
fi
cat <<EOF2

Try:
  $KVCTL --endpoint $CENTRAL put greeting "hello, world"
  $KVCTL --endpoint 127.0.0.1:$((BASE_PORT + 102)) get greeting -o json
  $KVCTL --endpoint 127.0.0.1:$((BASE_PORT + 101)) status

Press Ctrl-C to stop.
EOF2

# Stay in the foreground until Ctrl-C or a node exits on its own.
while true; do
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "up.sh: ${NAMES[$i]} exited; see $DATA_DIR/${NAMES[$i]}.log" >&2
      exit 1
    fi
  done
  sleep 1
done
