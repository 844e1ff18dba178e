// The libFuzzer entry point of fuzz_resp_parser (built with -DKV_FUZZ=ON and clang).

#include <cstddef>
#include <cstdint>

#include "server/resp/request_parser_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kv::server::resp::FuzzRequestParser(data, size);
}
