// The libFuzzer entry point of one fuzz binary; CMake compiles this file once per target with
// KV_FUZZ_ENTRY naming the target's function (tests/fuzz/targets.h).

#include <cstddef>
#include <cstdint>

#include "google/protobuf/stubs/logging.h"
#include "tests/fuzz/targets.h"

#ifndef KV_FUZZ_ENTRY
#error "KV_FUZZ_ENTRY must name a function from tests/fuzz/targets.h"
#endif

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Malformed inputs make protobuf log (e.g. invalid UTF-8 in string fields) millions of times.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kv::fuzz::KV_FUZZ_ENTRY(data, size);
}
