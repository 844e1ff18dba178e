#!/bin/bash
# bench/watch_latency/run.sh MODE WATCHERS [WRITES]: starts a central node and one edge (MODE
# full or cache) on loopback, runs watch_latency with WATCHERS watchers at the edge, stops both.
set -e
B=${BUILD_BIN:-$(dirname "$0")/../../build/bin}
D=$(mktemp -d /tmp/watchbench.XXXX)
$B/kvd central --data-dir $D/central --listen 127.0.0.1:0 --ready-file $D/c.json --max-watchers 5000 2> $D/central.log &
CPID=$!
for i in $(seq 100); do [ -s $D/c.json ] && break; sleep 0.1; done
C=$(python3 -c "import json;print(json.load(open('$D/c.json'))['grpc'])")
$B/kvd edge --mode $1 --upstream $C --data-dir $D/edge --listen 127.0.0.1:0 --ready-file $D/e.json --max-watchers 5000 2> $D/edge.log &
EPID=$!
for i in $(seq 100); do [ -s $D/e.json ] && break; sleep 0.1; done
E=$(python3 -c "import json;print(json.load(open('$D/e.json'))['grpc'])")
sleep 2
echo "central $C edge $E ($1); load: $(cat /proc/loadavg)"
$B/watch_latency --write $C --watch $E --watchers $2 --writes ${3:-300} --interval-ms 20 || true
echo "load after: $(cat /proc/loadavg)"
kill $EPID $CPID; wait $EPID $CPID 2>/dev/null || true
rm -rf $D
