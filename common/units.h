#pragma once
// Parsing and printing of the human units used by flags and the CLI: durations ("30s", "5m",
// "100ms", "1h30m") and byte sizes ("256MiB", "64KiB", "25MB", "1000").

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kv {

// Accepts absl duration syntax ("1.5s", "100ms", "2h45m") and a bare number of seconds ("30").
absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view text);

// Accepts a plain number of bytes, or a number with a unit: B, KB, MB, GB (powers of 1000) or
// KiB, MiB, GiB, TiB (powers of 1024), case-insensitive; "k", "m", "g" mean KiB, MiB, GiB.
absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text);

// "25 MiB", "512 B", "1.5 GiB".
std::string FormatByteSize(uint64_t bytes);

// "1.2ms", "3.4s", "250us": compact, for logs and status output.
std::string FormatMicros(int64_t micros);

}  // namespace kv
