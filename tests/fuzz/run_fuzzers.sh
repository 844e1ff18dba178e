#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -DKV_FUZZ=ON) and runs each for a bounded time.
# See docs/fuzzing.md.
#
#   tests/fuzz/run_fuzzers.sh                       # every target, 60 s each
#   tests/fuzz/run_fuzzers.sh -t 300 stream_receiver
#   tests/fuzz/run_fuzzers.sh --update-seeds -t 600 # also merge new coverage into the repo
#
# Each target runs on a working corpus in $BUILD/fuzz-corpus/<target> (kept between runs,
# first filled from the checked-in corpus). New inputs are merged (minimised by coverage) into
# it after the run; --update-seeds merges them into tests/fuzz/corpus/<target> as well. Crash
# inputs land in $BUILD/fuzz-artifacts/<target>/; the script exits non-zero when there are any.
set -euo pipefail

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF
Options:
  -t, --time SECONDS   run time per target (default 60)
  -j, --jobs N         parallel fuzzing processes per target (default 1)
  -b, --build DIR      fuzz build directory (default <repo>/build-fuzz)
  --max-len BYTES      largest input libFuzzer generates (default: libFuzzer's choice)
  --update-seeds       merge new coverage into the checked-in corpus too
  --no-build           do not (re)configure and build first
Targets: validate record_codec stream_receiver change_log (default: all)
EOF
}

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="$REPO/build-fuzz"
TIME=60
JOBS=1
MAX_LEN=""
UPDATE_SEEDS=0
DO_BUILD=1
TARGETS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -t|--time) TIME="$2"; shift 2 ;;
    -j|--jobs) JOBS="$2"; shift 2 ;;
    -b|--build) BUILD="$2"; shift 2 ;;
    --max-len) MAX_LEN="$2"; shift 2 ;;
    --update-seeds) UPDATE_SEEDS=1; shift ;;
    --no-build) DO_BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    validate|record_codec|stream_receiver|change_log) TARGETS+=("$1"); shift ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=(validate record_codec stream_receiver change_log)

if [[ $DO_BUILD -eq 1 ]]; then
  if [[ ! -f "$BUILD/build.ninja" ]]; then
    CC=clang CXX=clang++ cmake -G Ninja -S "$REPO" -B "$BUILD" -DKV_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo
  fi
  ninja -C "$BUILD" -j2 $(printf 'fuzz_%s ' "${TARGETS[@]}")
fi

CORPUS_SRC="$REPO/tests/fuzz/corpus"
SUMMARY=()
FAILED=0
for target in "${TARGETS[@]}"; do
  bin="$BUILD/bin/fuzz_$target"
  work="$BUILD/fuzz-corpus/$target"
  artifacts="$BUILD/fuzz-artifacts/$target"
  log="$BUILD/fuzz-logs/$target.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  # Regression inputs join the working corpus too: their neighbourhood is worth exploring.
  for dir in "$CORPUS_SRC/$target" "$CORPUS_SRC/regressions/$target"; do
    [[ -d "$dir" ]] && find "$dir" -maxdepth 1 -type f ! -name '.*' -exec cp -n {} "$work/" \;
  done
  args=(-max_total_time="$TIME" -artifact_prefix="$artifacts/" -print_final_stats=1)
  # RocksDB-backed targets: libFuzzer's per-input leak check (an LSan scan of RocksDB's heap
  # whenever mallocs and frees do not balance) costs 2x; leaks are still reported at exit.
  case "$target" in
    stream_receiver|change_log) args+=(-detect_leaks=0) ;;
  esac
  [[ -n "$MAX_LEN" ]] && args+=(-max_len="$MAX_LEN")
  if [[ "$JOBS" -gt 1 ]]; then
    args+=(-fork="$JOBS" -ignore_crashes=0)
  fi
  # A seed directory that is only read: new inputs go to the working corpus.
  new="$BUILD/fuzz-corpus/.new-$target"
  rm -rf "$new" && mkdir -p "$new"
  echo "== fuzz_$target for ${TIME}s (log: $log)"
  set +e
  UBSAN_OPTIONS=print_stacktrace=1 "$bin" "${args[@]}" "$new" "$work" >"$log" 2>&1
  rc=$?
  set -e
  # Merge what this run found into the working corpus (and the repo's, when asked).
  "$bin" -merge=1 "$work" "$new" >>"$log" 2>&1 || true
  if [[ $UPDATE_SEEDS -eq 1 ]]; then
    "$bin" -merge=1 "$CORPUS_SRC/$target" "$new" >>"$log" 2>&1 || true
  fi
  rm -rf "$new"
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  # The fuzzing run's final line (the merge afterwards prints its own).
  done_line=$(grep -m1 -E '^#[0-9]+[[:space:]]+DONE' "$log" || true)
  cov=$(grep -o 'cov: [0-9]*' <<<"$done_line" | grep -o '[0-9]*$' || true)
  ft=$(grep -o 'ft: [0-9]*' <<<"$done_line" | grep -o '[0-9]*$' || true)
  files=$(find "$work" -maxdepth 1 -type f | wc -l)
  crashes=$(find "$artifacts" -maxdepth 1 -type f | wc -l)
  SUMMARY+=("$(printf '%-16s rc=%-3s execs=%-10s exec/s=%-7s cov=%-6s ft=%-7s corpus=%-6s crashes=%s' \
    "$target" "$rc" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$files" "$crashes")")
  if [[ $rc -ne 0 || $crashes -gt 0 ]]; then
    FAILED=1
    echo "   fuzz_$target failed (rc=$rc); crash inputs in $artifacts:" >&2
    ls -1 "$artifacts" >&2 || true
    grep -m5 -E 'ERROR|invariant violated|runtime error' "$log" >&2 || true
  fi
done

echo
printf '%s\n' "${SUMMARY[@]}"
if [[ $FAILED -ne 0 ]]; then
  echo
  echo "Reproduce: $BUILD/bin/fuzz_<target> <crash file>. Keep it as a regression input:"
  echo "  cp <crash file> $CORPUS_SRC/regressions/<target>/<short-name>"
  exit 1
fi
