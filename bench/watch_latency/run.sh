#!/bin/bash
# bench/watch_latency/run.sh MODE WATCHERS [WRITES]: starts a central node and one edge (MODE
# full or cache) on loopback, runs watch_latency with WATCHERS watchers at the edge, stops both.
# Also prints the edge's CPU (user + system) over the run: in all, per delivered event, and per
# thread name (the hub's thread is kv-watch-hub); and its threads' context switches.
# PERF_DATA=FILE: `perf record -g` the edge during the benchmark into FILE.
set -e
B=${BUILD_BIN:-$(dirname "$0")/../../build/bin}
D=$(mktemp -d /tmp/watchbench.XXXX)
$B/kvd central --data-dir $D/central --listen 127.0.0.1:0 --ready-file $D/c.json --max-watchers 5000 2> $D/central.log &
CPID=$!
for i in $(seq 100); do [ -s $D/c.json ] && break; sleep 0.1; done
C=$(python3 -c "import json;print(json.load(open('$D/c.json'))['grpc'])")
$B/kvd edge --mode $1 --upstream $C --data-dir $D/edge --listen 127.0.0.1:0 --ready-file $D/e.json --max-watchers 5000 2> $D/edge.log &
EPID=$!
trap 'kill $EPID $CPID 2> /dev/null; rm -rf $D' EXIT  # also when a step fails (set -e)
for i in $(seq 100); do [ -s $D/e.json ] && break; sleep 0.1; done
E=$(python3 -c "import json;print(json.load(open('$D/e.json'))['grpc'])")
sleep 2
# CPU ticks (utime + stime) per thread name of the edge: "name ticks" lines.
ticks() {
  for t in /proc/$EPID/task/*; do
    echo "$(cat $t/comm | tr ' ' _) $(cut -d')' -f2 $t/stat | awk '{print $12 + $13}')"
  done | awk '{s[$1] += $2} END {for (n in s) print n, s[n]}' | sort
  echo "ALL $(cut -d')' -f2 /proc/$EPID/stat | awk '{print $12 + $13}')"  # incl. exited threads
  echo "SWITCHES $(cat /proc/$EPID/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}')"
  # The hub thread's waits (voluntary switches: it found nothing to do, or waited for its lock).
  for t in /proc/$EPID/task/*; do
    if [ "$(cat $t/comm)" = kv-watch-hub ]; then awk '/^voluntary_ctxt/ {print "HUBWAITS", $2}' $t/status; fi
  done
}
ticks > $D/cpu.before
echo "central $C edge $E ($1); load: $(cat /proc/loadavg)"
if [ -n "$PERF_DATA" ]; then perf record -g -p $EPID -o $PERF_DATA 2> $D/perf.log & PERF_PID=$!; fi
$B/watch_latency --write $C --watch $E --watchers $2 --writes ${3:-300} --interval-ms 20 | tee $D/out || true
ticks > $D/cpu.after
if [ -n "$PERF_DATA" ]; then kill -INT $PERF_PID; wait $PERF_PID || true; fi
echo "load after: $(cat /proc/loadavg)"
HZ=$(getconf CLK_TCK)
DELIVERIES=$(sed -n 's/.*deliveries=\([0-9]*\).*/\1/p' $D/out)
join -a 2 -e 0 -o 0,1.2,2.2 <(sort $D/cpu.before) <(sort $D/cpu.after) |
  awk -v hz=$HZ -v n=${DELIVERIES:-0} '$1 == "SWITCHES" {sw = $3 - $2; next} $1 == "HUBWAITS" {hw = $3 - $2; next}
       {d = ($3 - $2) / hz; if ($1 == "ALL") all = d; else if (d > 0) by = by sprintf(" %s %.2f s;", $1, d)}
       END {printf "edge CPU: %.2f s (%.1f us per delivered event);%s\n", all, n ? all * 1e6 / n : 0, by;
            printf "edge context switches: %d (%.2f per delivered event); the hub thread waited %d times\n", sw, n ? sw / n : 0, hw}'
kill $EPID $CPID; wait $EPID $CPID 2>/dev/null || true
rm -rf $D
