#include "server/resp/lookahead.h"

#include <array>
#include <cstdint>

namespace kv::server::resp {
namespace {

// Reads "<prefix><digits>\r\n" at `*pos`; false if it is not exactly that (or longer than a
// 10-digit length: nothing the look needs is that long).
bool ReadLength(absl::string_view bytes, char prefix, size_t* pos, size_t* value) {
  size_t p = *pos;
  if (p >= bytes.size() || bytes[p] != prefix) return false;
  ++p;
  size_t v = 0;
  const size_t first_digit = p;
  while (p < bytes.size() && bytes[p] >= '0' && bytes[p] <= '9') {
    if (p - first_digit == 10) return false;
    v = v * 10 + static_cast<size_t>(bytes[p] - '0');
    ++p;
  }
  if (p == first_digit || p + 1 >= bytes.size() || bytes[p] != '\r' || bytes[p + 1] != '\n') {
    return false;
  }
  // "$01": the parser refuses leading zeros, so the look must not read past them.
  if (bytes[first_digit] == '0' && p - first_digit > 1) return false;
  *pos = p + 2;
  *value = v;
  return true;
}

}  // namespace

size_t ScanAhead(absl::string_view bytes, size_t max_commands,
                 absl::FunctionRef<void(absl::Span<const absl::string_view> args)> fn) {
  std::array<absl::string_view, kMaxLookaheadArgs> args;
  size_t pos = 0;
  size_t seen = 0;
  while (seen < max_commands) {
    size_t count = 0;
    if (!ReadLength(bytes, '*', &pos, &count) || count == 0 || count > args.size()) break;
    size_t n = 0;
    for (; n < count; ++n) {
      size_t length = 0;
      if (!ReadLength(bytes, '$', &pos, &length)) break;
      if (length > bytes.size() - pos || bytes.size() - pos - length < 2 ||
          bytes[pos + length] != '\r' || bytes[pos + length + 1] != '\n') {
        break;
      }
      args[n] = bytes.substr(pos, length);
      pos += length + 2;
    }
    if (n < count) break;
    fn(absl::MakeConstSpan(args.data(), count));
    ++seen;
  }
  return seen;
}

}  // namespace kv::server::resp
