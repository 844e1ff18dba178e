#!/usr/bin/env bash
# Propagation from the central node's acknowledgement to two edges (issue 16), same run for
# several kvd binaries:
#   bench/lag.sh [ROUNDS] [RATE] [KVD ...]
# For each binary (default build/bin/kvd) a central node and two full edges on loopback; rounds
# alternate between the binaries, each one `kvbench lag --rate RATE [5000] --samples 1000`
# (docs/kvbench.md: upper bound, estimate and lower bound of ack -> visible, and the poll round
# trip that is the method's resolution). Prints one line per edge and round.
# Build first: ninja -C build kvd kvbench.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
RATE=${2:-5000}
shift 2 2>/dev/null || shift $#
BINARIES=("$@")
[ ${#BINARIES[@]} -eq 0 ] && BINARIES=(build/bin/kvd)
WORK=$(mktemp -d /tmp/kvlag.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$WORK"' EXIT
ready() { for _ in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }
addr() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc"])' "$1"; }

CENTRALS=() EDGES=()
for i in "${!BINARIES[@]}"; do
  kvd=${BINARIES[$i]}
  d=$WORK/$i
  mkdir -p "$d"
  "$kvd" central --listen 127.0.0.1:0 --data-dir "$d/c" --ready-file "$d/c.ready" >"$d/c.log" 2>&1 &
  PIDS+=($!)
  ready "$d/c.ready"
  C=$(addr "$d/c.ready")
  for e in 1 2; do
    "$kvd" edge --mode full --upstream "$C" --listen 127.0.0.1:0 --data-dir "$d/e$e" \
      --node-id "e$e" --ready-file "$d/e$e.ready" >"$d/e$e.log" 2>&1 &
    PIDS+=($!)
  done
  ready "$d/e1.ready"
  ready "$d/e2.ready"
  CENTRALS+=("$C")
  EDGES+=("--edge $(addr "$d/e1.ready") --edge $(addr "$d/e2.ready")")
done
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), $RATE writes/s"

for round in $(seq 1 "$ROUNDS"); do
  for i in "${!BINARIES[@]}"; do
    # shellcheck disable=SC2086
    out=$(build/bin/kvbench lag --central "${CENTRALS[$i]}" ${EDGES[$i]} --rate "$RATE" \
      --samples 1000 --quiet --json | tail -1)
    python3 -c "
import json, sys
j = json.loads(sys.argv[1])
bg = j['background']
for n, e in enumerate(j['edges'], 1):
    u, m, l, r = e['lag_us'], e['lag_estimate_us'], e['lag_lower_us'], e['poll_rtt_us']
    print(f\"round $round ${BINARIES[$i]} e{n}: upper p50 {u['p50']:.0f} p99 {u['p99']:.0f}, \"
          f\"estimate p50 {m['p50']:.0f} p99 {m['p99']:.0f}, lower p50 {l['p50']:.0f} p99 {l['p99']:.0f}, \"
          f\"max {u['max']:.0f} us; poll rtt p50 {r['p50']:.0f}; timeouts {e['timeouts']}; \"
          f\"writes {bg['achieved_rate']:.0f}/s, skipped {bg['skipped']}, due->ack p99 {bg['latency_us']['p99']:.0f} us; \"
          f\"load {j['loadavg_before'][0]}\")
" "$out"
  done
done
