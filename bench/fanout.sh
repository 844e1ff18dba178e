#!/usr/bin/env bash
# The central node's cost of fanning the stream out (issue 16), all in one run:
#   bench/fanout.sh [ROUNDS] [RATE] [MODE] [VALUE_SIZE]
# 1. Per-write CPU with 2 and with 16 direct downstreams: a central node and 16 edges of MODE
#    (cache [default] or full) on loopback. Rounds alternate between 2 and 16 running edges
#    (the extra 14 are started and stopped each round; cache edges start from the head). Each
#    measurement is one `kvbench lag` run (RATE background writes/s [2000] of VALUE_SIZE bytes
#    [100] for ~8 s after a 2 s warm-up, 800 probes); the central node's CPU (user + system,
#    /proc/PID/stat, its own process only) over the kvbench run is divided by the writes it
#    committed (background + probes); so is its publisher thread's (the encoding and sending of the stream, without gRPC's threads),
#    with that thread's context switches per group commit (its wake-ups).
#    Writes per group commit (from /metrics) are shown too: a group is one message to each
#    caught-up stream, and busier cores make larger groups.
# 2. At rest behind relays: 4 full edges below the central node, 16 cache edges below each
#    (64 edges), no writes; the central node's CPU over 20 s as a percentage of one core (and the
#    relays' for reference).
# Build first: ninja -C build kvd kvbench. KVD=path/to/kvd runs another kvd binary (before/after);
# KEEP=1 keeps the nodes' logs (the work directory is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
RATE=${2:-2000}
MODE=${3:-cache}
VALUE_SIZE=${4:-100}
KVD=${KVD:-build/bin/kvd}
WORK=$(mktemp -d /tmp/kvfanout.XXXXXX)
declare -A PID_OF=()
trap 'for p in "${PID_OF[@]}"; do kill "$p" 2>/dev/null || true; done; wait; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
TCK=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The publisher thread's (named kv-publisher) CPU ticks and context switches (how often it slept
# and was woken), "0 0" if there is none.
pubstat() {
  for t in /proc/"$1"/task/*; do
    if [ "$(cat "$t/comm" 2>/dev/null)" = kv-publisher ]; then
      echo "$(awk '{print $14 + $15}' "$t/stat") $(awk '/ctxt_switches/ {n += $2} END {print n}' "$t/status")"
      return
    fi
  done
  echo "0 0"
}
ready() { for _ in $(seq 1 600); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }
addr() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2] if len(sys.argv) > 2 else "grpc"])' "$@"; }
# Group commits so far at the central node (each is one message to every caught-up stream).
groups() { curl -s "http://$H/metrics" | awk '/^kv_group_commit_batch_size_count/ {print $2}'; }

# start NAME ARGS...: starts kvd (gRPC on a free loopback port), waits for its ready file.
start() {
  local name=$1
  shift
  rm -f "$WORK/$name.ready"
  "$KVD" "$@" --listen 127.0.0.1:0 --ready-file "$WORK/$name.ready" >"$WORK/$name.log" 2>&1 &
  PID_OF[$name]=$!
}
stop() {
  kill "${PID_OF[$1]}" 2>/dev/null || true
  wait "${PID_OF[$1]}" 2>/dev/null || true
  unset "PID_OF[$1]"
}
edge() {  # edge NAME UPSTREAM MODE
  local extra=()
  [ "$3" = cache ] && extra=(--cache-bytes 16MiB)
  start "$1" edge --mode "$3" --upstream "$2" --data-dir "$WORK/d-$1" --node-id "$1" "${extra[@]}"
}

start central central --data-dir "$WORK/d-central" --http 127.0.0.1:0
ready "$WORK/central.ready"
C=$(addr "$WORK/central.ready")
H=$(addr "$WORK/central.ready" http)
CENTRAL=${PID_OF[central]}
edge e1 "$C" "$MODE"
edge e2 "$C" "$MODE"
ready "$WORK/e1.ready"
ready "$WORK/e2.ready"
E1=$(addr "$WORK/e1.ready")
echo "work directory $WORK"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), $MODE edges, $RATE writes/s of $VALUE_SIZE B"

declare -A SUM=([2]=0 [16]=0) GSUM=([2]=0 [16]=0)
for round in $(seq 1 "$ROUNDS"); do
  for n in 2 16; do
    if [ "$n" = 16 ]; then
      for i in $(seq 3 16); do edge "e$i" "$C" "$MODE"; done
      for i in $(seq 3 16); do ready "$WORK/e$i.ready"; done
    fi
    sleep 1
    before=$(cpu "$CENTRAL")
    read -r pub_before switches_before < <(pubstat "$CENTRAL")
    groups_before=$(groups)
    out=$(build/bin/kvbench lag --central "$C" --edge "$E1" --rate "$RATE" --samples 800 \
      --interval 10ms --warmup 2s --value-size "$VALUE_SIZE" --quiet --json | tail -1)
    after=$(cpu "$CENTRAL")
    read -r pub_after switches_after < <(pubstat "$CENTRAL")
    groups_after=$(groups)
    us=$(python3 -c "
import json, sys
j = json.loads(sys.argv[1])
bg = j['background']
writes = bg['ok'] + j['samples'] + 1
cpu_us = ($after - $before) * 1e6 / $TCK / writes
pub_us = ($pub_after - $pub_before) * 1e6 / $TCK / writes
groups = max(1, $groups_after - $groups_before)
per_group = writes / groups
switches = ($switches_after - $switches_before) / groups
e = j['edges'][0]
print(f\"round $round, {$n:2d} edges: {cpu_us:6.1f} us central CPU per write, publisher thread {pub_us:5.1f} us; \"
      f\"per group commit {cpu_us * per_group:6.1f} / {pub_us * per_group:5.1f} us \"
      f\"({writes} writes, {per_group:.2f} per group, publisher switches {switches:.1f} per group, \"
      f\"{bg['achieved_rate']:.0f}/s, {bg['skipped']} skipped, {bg['errors']} errors); \"
      f\"e1 lag p99 {e['lag_us']['p99']/1000:.2f} ms; load {j['loadavg_before'][0]}\", file=sys.stderr)
print(cpu_us, cpu_us * per_group)" "$out")
    SUM[$n]=$(python3 -c "print(${SUM[$n]} + ${us% *})")
    GSUM[$n]=$(python3 -c "print(${GSUM[$n]} + ${us#* })")
    if [ "$n" = 16 ]; then
      for i in $(seq 3 16); do stop "e$i"; done
    fi
  done
done
python3 -c "
a, b = ${SUM[2]} / $ROUNDS, ${SUM[16]} / $ROUNDS
print(f'mean central CPU per write: 2 edges {a:.1f} us, 16 edges {b:.1f} us: 16 / 2 = {b / a:.2f} (target <= 1.5)')
a, b = ${GSUM[2]} / $ROUNDS, ${GSUM[16]} / $ROUNDS
print(f'mean central CPU per group commit: 2 edges {a:.1f} us, 16 edges {b:.1f} us: 16 / 2 = {b / a:.2f}')"

# At rest: 4 relays x 16 cache edges.
stop e1
stop e2
for r in 1 2 3 4; do edge "r$r" "$C" full; done
for r in 1 2 3 4; do ready "$WORK/r$r.ready"; done
for r in 1 2 3 4; do
  R=$(addr "$WORK/r$r.ready")
  for i in $(seq 1 16); do edge "r$r-e$i" "$R" cache; done
done
for r in 1 2 3 4; do for i in $(seq 1 16); do ready "$WORK/r$r-e$i.ready"; done; done
sleep 10
before=$(cpu "$CENTRAL")
relays_before=0
for r in 1 2 3 4; do relays_before=$((relays_before + $(cpu "${PID_OF[r$r]}"))); done
sleep 20
after=$(cpu "$CENTRAL")
relays_after=0
for r in 1 2 3 4; do relays_after=$((relays_after + $(cpu "${PID_OF[r$r]}"))); done
python3 -c "
c = ($after - $before) / $TCK / 20 * 100
r = ($relays_after - $relays_before) / $TCK / 20 * 100 / 4
print(f'at rest, 64 cache edges behind 4 relays: central {c:.2f}% of one core (target <= 2%), '
      f'each relay {r:.2f}%; load $(cut -d' ' -f1-3 /proc/loadavg)')"
