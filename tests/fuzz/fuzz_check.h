#pragma once
// Invariant checks for the fuzz targets. A failed check prints what broke and aborts, which
// libFuzzer reports as a crash (and saves the input) and which fails the replay test in a
// normal build. Unlike assert(), it is active in every build type.

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace kv::fuzz {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition) {
    stream_ << file << ":" << line << ": invariant violated: " << condition << " ";
  }
  [[noreturn]] ~CheckFailure() {
    std::string text = stream_.str();
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
    std::abort();
  }
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace kv::fuzz

// KV_FUZZ_CHECK(cond) << "context";
#define KV_FUZZ_CHECK(cond) \
  if (cond) {               \
  } else                    \
    ::kv::fuzz::CheckFailure(__FILE__, __LINE__, #cond).stream()
