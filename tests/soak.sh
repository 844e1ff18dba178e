#!/usr/bin/env bash
# Soak: runs the fault scenarios (fault_scenarios_integration_test) over seed after seed for a
# given time. Stops at the first failure, printing its seed and how to reproduce it; else prints
# a summary. See docs/faults.md.
#
#   tests/soak.sh [MINUTES] [FIRST_SEED]
#     MINUTES      how long to keep starting runs (default: $SOAK_MINUTES, else 10)
#     FIRST_SEED   first seed; later runs use the following ones (default: $SOAK_SEED, else random)
#   Environment:
#     BUILD_DIR         build directory holding bin/ (default: build)
#     KV_FAULT_SECONDS  workload time per scenario (default here: 10)
#     SOAK_FILTER       gtest filter (default: every scenario except the geography timing one)
#     SOAK_DIR          where output of the failing run is kept (default: a new temp directory)
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-${SOAK_MINUTES:-10}}
seed=${2:-${SOAK_SEED:-$(( (RANDOM << 15 | RANDOM) + 1 ))}}
build_dir=${BUILD_DIR:-build}
binary="$build_dir/bin/fault_scenarios_integration_test"
filter=${SOAK_FILTER:-'FaultScenarioTest.*:-FaultScenarioTest.FarEdgeServesHotReadsLocally'}
export KV_FAULT_SECONDS=${KV_FAULT_SECONDS:-10}
soak_dir=${SOAK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kv-soak-XXXXXX")}
mkdir -p "$soak_dir"
export KV_FAULT_ARTIFACTS="$soak_dir"

if [[ ! -x "$binary" ]]; then
  echo "soak: $binary not found; build it first:" >&2
  echo "  cmake --build $build_dir --target fault_scenarios_integration_test kvd" >&2
  exit 2
fi

# Each run gets its own session, so an interrupt can take down the test and every kvd it started.
child=""
trap '[[ -n "$child" ]] && kill -TERM -- "-$child" 2>/dev/null; exit 130' INT TERM

first_seed=$seed
runs=0
scenarios=0
start=$(date +%s)
deadline=$(( start + minutes * 60 ))
echo "soak: ${minutes} min, seeds from $first_seed, ${KV_FAULT_SECONDS}s per scenario, filter $filter"
while (( $(date +%s) < deadline )); do
  out="$soak_dir/run-seed$seed.log"
  run_start=$(date +%s)
  set +e
  KV_FAULT_SEED=$seed setsid "$binary" --gtest_filter="$filter" >"$out" 2>&1 &
  child=$!
  wait "$child"
  status=$?
  child=""
  set -e
  runs=$(( runs + 1 ))
  if (( status != 0 )); then
    echo
    grep -E '^\[  FAILED  \]|^\[fault\]|^reproduce:|^artifacts:' "$out" || true
    echo
    echo "soak: FAILED at seed $seed (run $runs, exit status $status); full output: $out"
    echo "soak: reproduce: KV_FAULT_SEED=$seed KV_FAULT_SECONDS=$KV_FAULT_SECONDS $binary --gtest_filter='$filter'"
    exit 1
  fi
  passed=$(grep -c '^\[       OK \]' "$out" || true)
  scenarios=$(( scenarios + passed ))
  echo "soak: seed $seed passed ($passed scenarios, $(( $(date +%s) - run_start ))s)"
  rm -f "$out"
  seed=$(( seed + 1 ))
done
elapsed=$(( $(date +%s) - start ))
echo "soak: PASSED $runs runs ($scenarios scenario runs), seeds $first_seed..$(( seed - 1 )), in $(( elapsed / 60 ))m$(( elapsed % 60 ))s"
rmdir "$soak_dir" 2>/dev/null || true
