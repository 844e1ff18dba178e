#pragma once
// A fuzz target for RequestParser, in the style of tests/fuzz/targets.h: takes arbitrary bytes,
// must never crash, and aborts with a message when an invariant breaks.
//
// Input: byte 0 picks the limits (tiny limits make every refusal reachable); the rest is a
// sequence of pieces, each a length byte and that many bytes, fed to the parser one read at a
// time. Invariants:
//  - split invariance: the commands (and whether a protocol error ends them) are the same as
//    when all the bytes arrive in one read;
//  - no argument count over max_args, no bulk over max_bulk_bytes, no inline line over
//    max_inline_bytes;
//  - the buffer never holds more than twice the bytes fed plus one read;
//  - an error is final.
// Built as a libFuzzer binary (fuzz_resp_parser) with -DKV_FUZZ=ON; resp_parser_test runs it
// on random inputs in every build.

#include <cstddef>
#include <cstdint>

namespace kv::server::resp {

int FuzzRequestParser(const uint8_t* data, size_t size);

}  // namespace kv::server::resp
