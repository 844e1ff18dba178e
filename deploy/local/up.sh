#!/usr/bin/env bash
# Starts a local cluster in the foreground: installs what is missing, builds kvd and kvctl,
# makes a throw-away CA and a TLS certificate per node, starts the central node and its edges
# over TLS with --auth required, prints the endpoints, an admin token, a read-only token and
# example commands, and stops everything cleanly on Ctrl-C.
#
#   deploy/local/up.sh [--data-dir DIR] [--base-port N] [--no-build] [--no-tls] [--no-auth]
#
# Topology (ports from --base-port, default 7000):
#   central     N       writes and the authoritative copy
#   edge-a      N+101   full edge, follows central (and relays to edge-b)
#   edge-b      N+102   full edge behind the relay edge-a
#   edge-c      N+103   cache edge (hot keys only), follows central
# HTTP (/v1/kv, /metrics, /healthz, /readyz) on N+1000 + the same offsets.
# TLS: certificates in DIR/tls (CA valid 1 year, node and client certificates 30 days, renewed
# by the next start when they expire within a day). gRPC requires client certificates (every
# node presents its own to its upstream; kvctl uses DIR/tls/operator.pem); HTTPS does not.
# Tokens: an EC P-256 signing key in DIR/auth/signing.key; its public JWKS seeds the central
# node (--auth-jwks) and reaches the edges on the stream; every node runs --auth required. Edges
# get a `replicate` token (DIR/auth/NAME.token, 30 days); the operator an `admin` token and a
# read-only token (12 hours), minted again at every start.
# The client settings are written to DIR/env.sh and build/kvcluster.env: `. build/kvcluster.env`.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

DATA_DIR=""
BASE_PORT=7000
BUILD=1
TLS=1
AUTH=1
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) DATA_DIR=$2; shift 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-tls) TLS=0; shift ;;
    --no-auth) AUTH=0; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
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
DATA_DIR=$(cd "$DATA_DIR" && pwd)
TLS_DIR="$DATA_DIR/tls"
AUTH_DIR="$DATA_DIR/auth"
ISSUER=kvstore-local
ENV_FILE="$DATA_DIR/env.sh"
NODES=(central edge-a edge-b edge-c)

# ---- certificates -------------------------------------------------------------------------

# needs_cert, make_ca and issue NAME (in $TLS_DIR): shared with the benchmarks.
. "$ROOT/deploy/local/pki.sh"

# make_certs: the CA, one certificate per node, and the operator's client certificate.
make_certs() {
  mkdir -p "$TLS_DIR"
  chmod 700 "$TLS_DIR"
  (
    umask 077
    make_ca
    for name in "${NODES[@]}" operator; do issue "$name"; done
  )
}

# node_tls_flags NAME: the TLS flags of node NAME (none with --no-tls).
node_tls_flags() {
  [ "$TLS" = 1 ] || return 0
  printf '%s\n' --tls-cert "$TLS_DIR/$1.pem" --tls-key "$TLS_DIR/$1.key" \
    --tls-ca "$TLS_DIR/ca.pem" --tls-client-certs require --tls-http-client-certs none
}

# ---- tokens -------------------------------------------------------------------------------

# mint SCOPE SUB TTL: a token signed with the cluster's key.
mint() {
  "$KVCTL" auth mint --key "$AUTH_DIR/signing.key" --kid local-1 --iss "$ISSUER" \
    --scope "$1" --sub "$2" --ttl "$3"
}

# make_tokens: the signing key (kept across starts), its JWKS, the edges' replicate tokens and
# the operator's admin and read-only tokens.
make_tokens() {
  mkdir -p "$AUTH_DIR"
  chmod 700 "$AUTH_DIR"
  (
    umask 077
    if [ ! -s "$AUTH_DIR/signing.key" ]; then
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$AUTH_DIR/signing.key" 2>/dev/null
    fi
    "$KVCTL" auth jwks --key "$AUTH_DIR/signing.key" --kid local-1 >"$AUTH_DIR/jwks.json"
    for name in "${NODES[@]}"; do
      [ "$name" = central ] || mint replicate "$name" 720h >"$AUTH_DIR/$name.token"
    done
    mint "admin read: write:" operator 12h >"$AUTH_DIR/admin.token"
    mint "read:" reader 12h >"$AUTH_DIR/read.token"
  )
  ADMIN_TOKEN=$(cat "$AUTH_DIR/admin.token")
  READ_TOKEN=$(cat "$AUTH_DIR/read.token")
}

# node_auth_flags NAME: the auth flags of node NAME (none with --no-auth).
node_auth_flags() {
  [ "$AUTH" = 1 ] || return 0
  printf '%s\n' --auth required --auth-issuer "$ISSUER"
  if [ "$1" = central ]; then
    printf '%s\n' --auth-jwks "$AUTH_DIR/jwks.json"
  else
    printf '%s\n' --upstream-token-file "$AUTH_DIR/$1.token"
  fi
}

# write_client_env: what a client needs to reach the cluster, as shell exports, in $ENV_FILE and
# build/kvcluster.env.
write_client_env() {
  {
    echo "# kvstore local cluster ($DATA_DIR): source this file, then run kvctl."
    echo "export KV_ENDPOINT=127.0.0.1:$BASE_PORT"
    if [ "$TLS" = 1 ]; then
      echo "export KV_TLS_CA=$TLS_DIR/ca.pem"
      echo "export KV_TLS_CERT=$TLS_DIR/operator.pem"
      echo "export KV_TLS_KEY=$TLS_DIR/operator.key"
    else
      echo "unset KV_TLS_CA KV_TLS_CERT KV_TLS_KEY"
    fi
    if [ "$AUTH" = 1 ]; then
      echo "# The admin token (12 h); read-only: export KV_TOKEN=\$(cat $AUTH_DIR/read.token)"
      echo "export KV_TOKEN=$ADMIN_TOKEN"
    else
      echo "unset KV_TOKEN"
    fi
  } >"$ENV_FILE"
  mkdir -p "$ROOT/$BUILD_DIR"
  cp "$ENV_FILE" "$ROOT/$BUILD_DIR/kvcluster.env"
}

# ---- nodes --------------------------------------------------------------------------------

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

# start NAME PORT_OFFSET ARGS...: starts a node (with its TLS flags) and waits until it serves.
start() {
  local name=$1 offset=$2
  shift 2
  local ready="$DATA_DIR/$name.ready"
  local tls_flags=() auth_flags=()
  mapfile -t tls_flags < <(node_tls_flags "$name")
  mapfile -t auth_flags < <(node_auth_flags "$name")
  rm -f "$ready"
  "$KVD" "$@" --data-dir "$DATA_DIR/$name" --node-id "$name" \
    --listen "127.0.0.1:$((BASE_PORT + offset))" --http "127.0.0.1:$((BASE_PORT + 1000 + offset))" \
    "${tls_flags[@]}" "${auth_flags[@]}" --ready-file "$ready" >>"$DATA_DIR/$name.log" 2>&1 &
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

start_cluster() {
  CENTRAL=127.0.0.1:$BASE_PORT
  start central 0 central
  start edge-a 101 edge --mode full --upstream "$CENTRAL"
  start edge-b 102 edge --mode full --upstream "127.0.0.1:$((BASE_PORT + 101))"
  if "$KVD" edge --help 2>/dev/null | grep -q -- "--cache-bytes" &&
    [ "${KV_NO_CACHE_EDGE:-0}" != 1 ]; then
    start edge-c 103 edge --mode cache --cache-bytes 64MiB --upstream "$CENTRAL"
  fi
}

print_summary() {
  local scheme=http curl_opts=""
  [ "$TLS" = 1 ] && scheme=https curl_opts=' --cacert "$KV_TLS_CA"'
  [ "$AUTH" = 1 ] && curl_opts+=' -H "Authorization: Bearer $KV_TOKEN"'
  cat <<EOF2

Cluster is up (logs in $DATA_DIR/*.log):
  central   gRPC $CENTRAL            HTTP 127.0.0.1:$((BASE_PORT + 1000))   writes go here
  edge-a    gRPC 127.0.0.1:$((BASE_PORT + 101))   HTTP 127.0.0.1:$((BASE_PORT + 1101))   full edge, follows central, relays to edge-b
  edge-b    gRPC 127.0.0.1:$((BASE_PORT + 102))   HTTP 127.0.0.1:$((BASE_PORT + 1102))   full edge behind the relay edge-a
EOF2
  if [ "${#NAMES[@]}" -gt 3 ]; then
    echo "  edge-c    gRPC 127.0.0.1:$((BASE_PORT + 103))   HTTP 127.0.0.1:$((BASE_PORT + 1103))   cache edge (hot keys), follows central"
  fi
  if [ "$TLS" = 1 ]; then
    cat <<EOF2

TLS: every node serves gRPC and HTTPS with a certificate from the throw-away CA in
$TLS_DIR; gRPC requires client certificates (nodes present theirs to their
upstream, kvctl uses operator.pem). Reload certificates by replacing the files (checked every 10 s)
or with kill -HUP.
EOF2
  fi
  if [ "$AUTH" = 1 ]; then
    cat <<EOF2

Tokens: every node runs --auth required with the key set $AUTH_DIR/jwks.json.
  admin token (admin read: write:, 12 h):
    export KV_TOKEN=$ADMIN_TOKEN
  read-only token (read:, 12 h):
    export KV_TOKEN=$READ_TOKEN
  more: $KVCTL auth mint --key $AUTH_DIR/signing.key --kid local-1 --iss $ISSUER --scope 'read:users/' --ttl 1h
EOF2
  fi
  cat <<EOF2

Client settings (endpoint$([ "$TLS" = 1 ] && echo ", TLS files")$([ "$AUTH" = 1 ] && echo ", the admin token")), for this shell:
  . $ROOT/$BUILD_DIR/kvcluster.env

Try:
  $KVCTL put greeting "hello, world"
  $KVCTL --endpoint 127.0.0.1:$((BASE_PORT + 102)) get greeting -o json
  $KVCTL --endpoint 127.0.0.1:$((BASE_PORT + 101)) status
  curl$curl_opts -i '$scheme://127.0.0.1:$((BASE_PORT + 1102))/v1/kv/greeting'

Press Ctrl-C to stop.
EOF2
}

# Stays in the foreground until Ctrl-C or a node exits on its own.
watch_nodes() {
  while true; do
    for i in "${!PIDS[@]}"; do
      if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
        echo "up.sh: ${NAMES[$i]} exited; see $DATA_DIR/${NAMES[$i]}.log" >&2
        exit 1
      fi
    done
    sleep 1
  done
}

[ "$TLS" = 1 ] && make_certs
[ "$AUTH" = 1 ] && make_tokens
write_client_env
start_cluster
print_summary
watch_nodes
