#pragma once
// The fuzz targets' entry functions. Each takes arbitrary bytes, must never crash, and aborts
// (KV_FUZZ_CHECK) when an invariant breaks. The libFuzzer binaries call them from
// LLVMFuzzerTestOneInput; fuzz_replay_test calls them on every checked-in corpus and regression
// input, so a normal (GCC) build replays what the fuzzers found.

#include <cstddef>
#include <cstdint>

namespace kv::fuzz {

// Request validation: the first byte picks the request type and the limits.
int FuzzValidate(const uint8_t* data, size_t size);
// The record codec: decoding arbitrary bytes, and decode(encode(x)) == x.
int FuzzRecordCodec(const uint8_t* data, size_t size);
// A sequence of UpstreamMessages fed to StreamReceivers over a real FullEdgeApplier and a model.
int FuzzStreamReceiver(const uint8_t* data, size_t size);
// ChangeLog::Load / Read / FirstVersionAtOrAfter over a log column family with corrupt entries.
int FuzzChangeLog(const uint8_t* data, size_t size);

}  // namespace kv::fuzz
