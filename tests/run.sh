#!/usr/bin/env bash
# The whole test suite: installs what is missing (apt-get), configures, builds and runs every
# test through ctest. Extra arguments go to ctest (e.g. -L unit, -R Replication).
#   BUILD_DIR  build directory (default: build)
#   JOBS       parallel build jobs and unit-test jobs (default: 2)
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD_DIR" -j "$JOBS"
# Integration tests are marked RUN_SERIAL: they start real processes whose timing a second
# test on a 2-core machine would disturb.
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" "$@"
