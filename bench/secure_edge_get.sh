#!/usr/bin/env bash
# Edge Gets with TLS and tokens against edge Gets without them, same run (docs/security.md,
# "Cost"): bench/secure_edge_get.sh [ROUNDS] [CONCURRENCY]
#
# One central node (TLS, --auth required, 100,000 keys of 100 B) and two full edges following it
# over TLS with a replicate token: `open` serves its clients in plain text with --auth off,
# `secure` serves them over TLS (client certificates optional) with --auth required. Rounds
# alternate between the two; each warms for 2 s, then measures 8 s of kvbench reads (CONCURRENCY
# in flight [50], one token for every call, so the verified-token cache answers all but the
# first) and prints ops/s, p99 and the edge's CPU per Get (user + system, from /proc/PID/stat),
# then the ratio of the means. VARIANTS="open tls auth secure" adds an edge with TLS alone and
# one with tokens alone (plain text), to split the cost between the two. PERF_DATA=PREFIX records
# the whole machine (perf record -a -g) for 6 s of each variant's first round into PREFIX.VARIANT.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${1:-5}
CONCURRENCY=${2:-50}
KVD=$ROOT/build/bin/kvd
KVCTL=$ROOT/build/bin/kvctl
KVBENCH=$ROOT/build/bin/kvbench
WORK=$(mktemp -d /tmp/kvsecure.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$WORK"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ready() { for _ in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }

TLS_DIR=$WORK/tls
mkdir -m 700 "$TLS_DIR"
. "$ROOT/deploy/local/pki.sh"
(
  umask 077
  make_ca
  for name in central tls secure client; do issue "$name"; done
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/signing.key" 2>/dev/null
)
"$KVCTL" auth jwks --key "$WORK/signing.key" --kid bench >"$WORK/jwks.json"
mint() { "$KVCTL" auth mint --key "$WORK/signing.key" --kid bench --scope "$1" --ttl 2h --sub "$2"; }
mint replicate edges >"$WORK/edge.token"
READ_TOKEN=$(mint "read:" bench)
ADMIN_TOKEN=$(mint "admin read: write:" loader)

tls_flags() { echo --tls-cert "$TLS_DIR/$1.pem" --tls-key "$TLS_DIR/$1.key" --tls-ca "$TLS_DIR/ca.pem"; }
C=127.0.0.1:$(port)
# shellcheck disable=SC2046
"$KVD" central --listen "$C" --data-dir "$WORK/c" --ready-file "$WORK/c.ready" \
  $(tls_flags central) --tls-client-certs optional --auth required --auth-jwks "$WORK/jwks.json" \
  >"$WORK/c.log" 2>&1 &
PIDS+=($!)
ready "$WORK/c.ready"
"$KVBENCH" run --target "$C" --tls-ca "$TLS_DIR/ca.pem" --token "$ADMIN_TOKEN" --preload-only \
  --keys 100000 --quiet --json >/dev/null

VARIANTS=(${VARIANTS:-open secure})
declare -A ADDR PID
for variant in "${VARIANTS[@]}"; do
  ADDR[$variant]=127.0.0.1:$(port)
  # How the edge serves its clients (it always reaches the central node over TLS).
  # shellcheck disable=SC2207
  case $variant in
    open) serve=(--tls-ca "$TLS_DIR/ca.pem" --auth off) ;;
    tls) serve=($(tls_flags tls) --tls-client-certs optional --auth off) ;;
    auth) serve=(--tls-ca "$TLS_DIR/ca.pem" --auth required) ;;
    secure) serve=($(tls_flags secure) --tls-client-certs optional --auth required) ;;
    *) echo "unknown variant $variant (open, tls, auth, secure)" >&2; exit 2 ;;
  esac
  "$KVD" edge --mode full --upstream "$C" --listen "${ADDR[$variant]}" --data-dir "$WORK/e-$variant" \
    --node-id "$variant" --ready-file "$WORK/$variant.ready" --upstream-token-file "$WORK/edge.token" \
    "${serve[@]}" >"$WORK/$variant.log" 2>&1 &
  PID[$variant]=$!
  PIDS+=($!)
  ready "$WORK/$variant.ready"
done
# Every edge holds every key before the first round (and the key set).
for variant in "${VARIANTS[@]}"; do
  for _ in $(seq 1 300); do
    grep -q "streaming from" "$WORK/$variant.log" && break
    sleep 0.1
  done
done

declare -A SUM
for variant in "${VARIANTS[@]}"; do SUM[$variant]=0; done
for round in $(seq 1 "$ROUNDS"); do
  for variant in "${VARIANTS[@]}"; do
    client=(--target "${ADDR[$variant]}")
    case $variant in
      tls) client+=(--tls-ca "$TLS_DIR/ca.pem") ;;
      auth) client+=(--token "$READ_TOKEN") ;;
      secure) client+=(--tls-ca "$TLS_DIR/ca.pem" --token "$READ_TOKEN") ;;
    esac
    "$KVBENCH" run "${client[@]}" --workload read --concurrency "$CONCURRENCY" --keys 100000 \
      --duration 2s --warmup 1s --quiet --json >/dev/null
    pid=${PID[$variant]}
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    if [ -n "${PERF_DATA:-}" ] && [ "$round" = 1 ]; then
      # The whole machine (edge and kvbench share it) for 6 s of this variant's first round.
      (sleep 1; perf record -a -g -F 2000 -o "$PERF_DATA.$variant" -- sleep 6 >/dev/null 2>&1) &
      perf_pid=$!
    fi
    out=$("$KVBENCH" run "${client[@]}" --workload read --concurrency "$CONCURRENCY" \
      --keys 100000 --duration 8s --warmup 0s --quiet --json | tail -1)
    [ -n "${perf_pid:-}" ] && wait "$perf_pid" && perf_pid=
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    ops=$(python3 -c "
import json, sys
j = json.loads(sys.argv[1])
if j.get('errors', 0): print(f\"round $round $variant: {j['errors']} errors\", file=sys.stderr)
cpu_us = ($after - $before) * 1e6 / $(getconf CLK_TCK) / max(1, j['ops'])
print(f\"round $round $variant: {j['ops_per_sec']:,.0f} ops/s, p99 {j['latency_us']['p99'] / 1000:.1f} ms, \"
      f\"{cpu_us:.1f} us CPU per Get, load {j['loadavg_before'][0]}\", file=sys.stderr)
print(j['ops_per_sec'])" "$out")
    SUM[$variant]=$(python3 -c "print(${SUM[$variant]} + $ops)")
  done
done
for variant in "${VARIANTS[@]}"; do
  python3 -c "
o, v = ${SUM[open]} / $ROUNDS, ${SUM[$variant]} / $ROUNDS
print(f'mean $variant {v:,.0f} ops/s: $variant / open = {v / o:.2f}')"
done
