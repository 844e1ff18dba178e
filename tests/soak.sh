#!/usr/bin/env bash
# Soak: runs the fault scenarios (fault_scenarios_integration_test) and the HA failure scenarios
# (ha_integration_test: kill -9 of the leader KV_HA_ROUNDS times; ha_faults_integration_test: the
# leader cut off from etcd, a standby frozen, etcd stopped, the whole cluster restarted) over seed
# after seed for a given time. Stops at the first failure, printing its seed and how to reproduce
# it; else prints a summary. See docs/faults.md and docs/ha.md.
#
#   tests/soak.sh [MINUTES] [FIRST_SEED]
#     MINUTES      how long to keep starting runs (default: $SOAK_MINUTES, else 10)
#     FIRST_SEED   first seed; later runs use the following ones (default: $SOAK_SEED, else random)
#   Environment:
#     BUILD_DIR         build directory holding bin/ (default: build)
#     KV_FAULT_SECONDS  workload time per scenario (default here: 10)
#     SOAK_FILTER       gtest filter (default: every scenario except the geography timing one)
#     SOAK_DIR          where output of the failing run is kept (default: a new temp directory)
#     SOAK_SUITES       which suites each seed runs: "fault", "ha" or both (default: "fault ha")
#     KV_HA_ROUNDS      leaders the HA kill test kills per seed (default here: 20)
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-${SOAK_MINUTES:-10}}
seed=${2:-${SOAK_SEED:-$(( (RANDOM << 15 | RANDOM) + 1 ))}}
build_dir=${BUILD_DIR:-build}
filter=${SOAK_FILTER:-'FaultScenarioTest.*:-FaultScenarioTest.FarEdgeServesHotReadsLocally'}
suites=${SOAK_SUITES:-fault ha}
export KV_FAULT_SECONDS=${KV_FAULT_SECONDS:-10}
export KV_HA_ROUNDS=${KV_HA_ROUNDS:-20}
soak_dir=${SOAK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kv-soak-XXXXXX")}
mkdir -p "$soak_dir"
export KV_FAULT_ARTIFACTS="$soak_dir"

# Each suite: "binary|gtest filter|seed variable".
runs_of_seed=()
for suite in $suites; do
  case $suite in
    fault) runs_of_seed+=("fault_scenarios_integration_test|$filter|KV_FAULT_SEED") ;;
    ha)
      runs_of_seed+=("ha_integration_test|HaTest.*|KV_HA_SEED")
      runs_of_seed+=("ha_faults_integration_test|HaFaultTest.*|KV_HA_SEED")
      ;;
    *) echo "soak: unknown suite '$suite' in SOAK_SUITES (fault, ha)" >&2; exit 2 ;;
  esac
done
for run in "${runs_of_seed[@]}"; do
  binary="$build_dir/bin/${run%%|*}"
  if [[ ! -x "$binary" ]]; then
    echo "soak: $binary not found; build it first:" >&2
    echo "  cmake --build $build_dir --target ${run%%|*} kvd" >&2
    exit 2
  fi
done

# Each run gets its own session, so an interrupt can take down the test and every kvd it started.
child=""
trap '[[ -n "$child" ]] && kill -TERM -- "-$child" 2>/dev/null; exit 130' INT TERM

first_seed=$seed
runs=0
scenarios=0
start=$(date +%s)
deadline=$(( start + minutes * 60 ))
echo "soak: ${minutes} min, seeds from $first_seed, suites: $suites (${KV_FAULT_SECONDS}s per fault scenario, filter $filter; $KV_HA_ROUNDS HA kills per seed)"
while (( $(date +%s) < deadline )); do
  run_start=$(date +%s)
  passed=0
  for run in "${runs_of_seed[@]}"; do
    IFS='|' read -r name run_filter seed_var <<<"$run"
    binary="$build_dir/bin/$name"
    out="$soak_dir/run-$name-seed$seed.log"
    set +e
    env "$seed_var=$seed" setsid "$binary" --gtest_filter="$run_filter" >"$out" 2>&1 &
    child=$!
    wait "$child"
    status=$?
    child=""
    set -e
    if (( status != 0 )); then
      echo
      grep -E '^\[  FAILED  \]|^\[fault\]|^reproduce:|^artifacts:' "$out" || true
      echo
      echo "soak: FAILED at seed $seed (run $(( runs + 1 )), $name, exit status $status); full output: $out"
      echo "soak: reproduce: $seed_var=$seed KV_FAULT_SECONDS=$KV_FAULT_SECONDS KV_HA_ROUNDS=$KV_HA_ROUNDS $binary --gtest_filter='$run_filter'"
      exit 1
    fi
    passed=$(( passed + $(grep -c '^\[       OK \]' "$out" || true) ))
    rm -f "$out"
  done
  runs=$(( runs + 1 ))
  scenarios=$(( scenarios + passed ))
  echo "soak: seed $seed passed ($passed scenarios, $(( $(date +%s) - run_start ))s)"
  seed=$(( seed + 1 ))
done
elapsed=$(( $(date +%s) - start ))
echo "soak: PASSED $runs runs ($scenarios scenario runs), seeds $first_seed..$(( seed - 1 )), in $(( elapsed / 60 ))m$(( elapsed % 60 ))s"
rmdir "$soak_dir" 2>/dev/null || true
