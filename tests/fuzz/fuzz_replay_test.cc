// Replays every checked-in input of every fuzz target through its entry function: the seed
// corpus (corpus/<target>/) and the regression inputs (corpus/regressions/<target>/), which are
// crashes the fuzzers once found. Built without libFuzzer, so a normal GCC build and CI run it.
// A broken invariant aborts the test binary with a message naming the input's file.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/targets.h"

namespace kv::fuzz {

namespace {

namespace fs = std::filesystem;

using Entry = int (*)(const uint8_t*, size_t);

std::vector<fs::path> InputsIn(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().filename().string().rfind('.', 0) != 0) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Runs every input of `target`; returns how many there were.
size_t Replay(const std::string& target, Entry entry, bool seeds_required) {
  const fs::path root = KV_FUZZ_CORPUS_DIR;
  std::vector<fs::path> seeds = InputsIn(root / target);
  if (seeds_required) {
    EXPECT_FALSE(seeds.empty()) << "no seed corpus in " << root / target;
  }
  std::vector<fs::path> inputs = seeds;
  for (auto& p : InputsIn(root / "regressions" / target)) inputs.push_back(p);
  for (const fs::path& p : inputs) {
    std::ifstream in(p, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Printed before the call: if an invariant aborts the process, the culprit is on stderr.
    std::fprintf(stderr, "replaying %s (%zu bytes)\n", p.c_str(), bytes.size());
    entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  return inputs.size();
}

TEST(FuzzReplay, Validate) { Replay("validate", FuzzValidate, true); }
TEST(FuzzReplay, RecordCodec) { Replay("record_codec", FuzzRecordCodec, true); }
TEST(FuzzReplay, StreamReceiver) { Replay("stream_receiver", FuzzStreamReceiver, true); }
TEST(FuzzReplay, ChangeLog) { Replay("change_log", FuzzChangeLog, true); }

// Inputs that matter regardless of the corpus: empty and one-byte inputs of every kind.
TEST(FuzzReplay, TinyInputs) {
  for (Entry entry : {FuzzValidate, FuzzRecordCodec, FuzzStreamReceiver, FuzzChangeLog}) {
    entry(nullptr, 0);
    for (int b = 0; b < 256; ++b) {
      uint8_t byte = static_cast<uint8_t>(b);
      entry(&byte, 1);
    }
  }
}

}  // namespace
}  // namespace kv::fuzz
