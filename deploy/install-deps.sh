#!/usr/bin/env bash
# Installs the Debian bookworm packages this project builds, tests and benchmarks with.
# Safe to run twice: it asks apt only for what is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libboost-dev libboost-system-dev
  nlohmann-json3-dev libcli11-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libjwt-dev libssl-dev libxxhash-dev
  procps psmisc python3 curl ccache
  redis-tools python3-redis
  # tests/deploy: Kubernetes manifests, systemd-analyze verify, the test cluster's certificates
  python3-yaml systemd openssl
  # ha/: etcd for leader election (its v3 .proto files, and the server the tests run)
  etcd-server golang-etcd-server-dev
)
# Only for bench/compare.sh and the fuzz targets; install with --bench / --fuzz.
BENCH_PACKAGES=(redis-server redis-tools wrk linux-perf valgrind)
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

want=("${PACKAGES[@]}")
for arg in "$@"; do
  case "$arg" in
    --bench) want+=("${BENCH_PACKAGES[@]}") ;;
    --fuzz) want+=("${FUZZ_PACKAGES[@]}") ;;
    *) echo "usage: $0 [--bench] [--fuzz]" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
