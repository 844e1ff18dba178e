#include "server/resp/errors.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/grpc_status.h"
#include "common/units.h"

namespace kv::server::resp {
namespace {

// Longest node message copied into a reply.
constexpr size_t kMaxMessageBytes = 1024;

std::string Message(const absl::Status& status) {
  std::string message(status.message().substr(0, kMaxMessageBytes));
  if (message.empty()) message = "(no message)";
  return message;
}

}  // namespace

std::string ErrorForStatus(const absl::Status& status, CallKind kind, bool has_token) {
  std::string message = Message(status);
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      return absl::StrCat(has_token ? "WRONGPASS " : "NOAUTH ", message);
    case absl::StatusCode::kPermissionDenied:
      return absl::StrCat("NOPERM ", message);
    case absl::StatusCode::kUnavailable:
      if (kind == CallKind::kRead) {
        // The edge's own hint names the gRPC option; say it the RESP way.
        absl::StrReplaceAll({{"set allow_stale to accept a stale answer",
                              "send KV.ALLOWSTALE on to accept a stale answer"}},
                            &message);
        return absl::StrCat("STALE ", message);
      }
      return absl::StrCat("TRYAGAIN ", message);
    case absl::StatusCode::kDeadlineExceeded:
      return absl::StrCat("TRYAGAIN ", message);
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
      return absl::StrCat("ERR ", message);
    default:
      return absl::StrCat("ERR ", GrpcCodeName(static_cast<grpc::StatusCode>(status.code())), ": ",
                          message);
  }
}

std::string WrongArity(absl::string_view command) {
  return absl::StrCat("ERR wrong number of arguments for '",
                      absl::AsciiStrToLower(Printable(command, 64)), "' command");
}

std::string UnknownCommand(absl::string_view command, absl::Span<const absl::string_view> args) {
  std::string out = absl::StrCat("ERR unknown command '", Printable(command, 128),
                                 "', with args beginning with: ");
  size_t budget = 128;
  for (const absl::string_view arg : args) {
    if (budget == 0) break;
    const std::string shown = Printable(arg, budget);
    budget -= std::min(budget, arg.size());
    absl::StrAppend(&out, "'", shown, "' ");
  }
  return out;
}

std::string UnknownSubcommand(absl::string_view command, absl::string_view subcommand) {
  const std::string upper = absl::AsciiStrToUpper(command);
  return absl::StrCat("ERR unknown subcommand '", Printable(subcommand, 64), "'. Try ", upper,
                      " HELP.");
}

std::optional<std::string> CheckKey(const Limits& limits, absl::string_view key) {
  if (key.empty()) return std::string("ERR empty keys are not supported by this store");
  if (key.size() > limits.max_key_bytes) {
    return absl::StrCat("ERR key is ", key.size(), " bytes, over this node's limit of ",
                        limits.max_key_bytes, " bytes (--max-key-bytes)");
  }
  return std::nullopt;
}

std::optional<std::string> CheckValue(const Limits& limits, absl::string_view value) {
  if (value.size() <= limits.max_value_bytes) return std::nullopt;
  return absl::StrCat("ERR value is ", value.size(), " bytes (", FormatByteSize(value.size()),
                      "), over this node's limit of ", limits.max_value_bytes, " bytes (",
                      FormatByteSize(limits.max_value_bytes), ", --max-value-bytes)");
}

bool ParseInt64(absl::string_view text, int64_t* value) {
  bool negative = false;
  if (!text.empty() && text[0] == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > 19) return false;
  if (text[0] == '0' && (text.size() > 1 || negative)) return false;
  uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  const uint64_t max = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (v > max) return false;
  *value = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

bool ParseUint64(absl::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  if (text[0] == '0' && text.size() > 1) return false;
  uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *value = v;
  return true;
}

std::string Printable(absl::string_view bytes, size_t max) {
  std::string out;
  for (const char c : bytes.substr(0, max)) {
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    }
  }
  if (bytes.size() > max) out += "...";
  return out;
}

}  // namespace kv::server::resp
