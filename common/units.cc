#include "common/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kv {

absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return absl::InvalidArgumentError("empty duration");
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) {
    if (!std::isfinite(seconds) || seconds < 0) {
      return absl::InvalidArgumentError(absl::StrCat("duration must be >= 0: '", text, "'"));
    }
    return absl::Seconds(seconds);
  }
  absl::Duration d;
  if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad duration '", text, "' (examples: 500ms, 30s, 5m, 1h30m)"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("duration must be >= 0: '", text, "'"));
  }
  return d;
}

absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  double number = 0;
  if (i == 0 || !absl::SimpleAtod(text.substr(0, i), &number) || number < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad size '", text, "' (examples: 4096, 64KiB, 256MiB, 1GiB)"));
  }
  std::string unit = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text.substr(i)));
  double multiplier = 0;
  if (unit.empty() || unit == "b") {
    multiplier = 1;
  } else if (unit == "kib" || unit == "k") {
    multiplier = 1024.0;
  } else if (unit == "mib" || unit == "m") {
    multiplier = 1024.0 * 1024;
  } else if (unit == "gib" || unit == "g") {
    multiplier = 1024.0 * 1024 * 1024;
  } else if (unit == "tib" || unit == "t") {
    multiplier = 1024.0 * 1024 * 1024 * 1024;
  } else if (unit == "kb") {
    multiplier = 1e3;
  } else if (unit == "mb") {
    multiplier = 1e6;
  } else if (unit == "gb") {
    multiplier = 1e9;
  } else if (unit == "tb") {
    multiplier = 1e12;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("bad size unit in '", text, "' (use B, KiB, MiB, GiB, KB, MB, GB)"));
  }
  double bytes = number * multiplier;
  if (bytes > 1.8e19) return absl::InvalidArgumentError(absl::StrCat("size too large: ", text));
  return static_cast<uint64_t>(std::llround(bytes));
}

std::string FormatByteSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0 || value == std::floor(value)) {
    std::snprintf(buf, sizeof(buf), "%.0f %s", value, kUnits[unit]);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", value, kUnits[unit]);
  }
  return buf;
}

std::string FormatMicros(int64_t micros) {
  char buf[32];
  int64_t a = micros < 0 ? -micros : micros;
  if (a < 1000) {
    std::snprintf(buf, sizeof(buf), "%lldus", static_cast<long long>(micros));
  } else if (a < 1000000) {
    std::snprintf(buf, sizeof(buf), "%.1fms", micros / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.2fs", micros / 1e6);
  }
  return buf;
}

}  // namespace kv
