#include "server/resp/resp_test_client.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"

namespace kv::server::resp::testing {
namespace {

// Parses the reply at data[*pos]; false when incomplete.
absl::StatusOr<bool> ParseAt(absl::string_view data, size_t* pos, RespValue* out, int depth) {
  if (depth > 64) return absl::InvalidArgumentError("reply nested too deeply");
  if (*pos >= data.size()) return false;
  const size_t eol = data.find("\r\n", *pos);
  if (eol == absl::string_view::npos) return false;
  const char type = data[*pos];
  const absl::string_view line = data.substr(*pos + 1, eol - *pos - 1);
  size_t next = eol + 2;
  int64_t n = 0;
  const auto number = [&]() -> absl::Status {
    if (!absl::SimpleAtoi(line, &n)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad number '", line, "' after '", std::string(1, type), "'"));
    }
    return absl::OkStatus();
  };
  switch (type) {
    case '+':
    case '-':
    case ',':
    case '(':
      out->type = type == '+'   ? RespValue::Type::kSimple
                  : type == '-' ? RespValue::Type::kError
                                : RespValue::Type::kDouble;
      out->str = std::string(line);
      break;
    case ':':
      if (auto s = number(); !s.ok()) return s;
      out->type = RespValue::Type::kInteger;
      out->integer = n;
      break;
    case '#':
      out->type = RespValue::Type::kBoolean;
      out->integer = line == "t" ? 1 : 0;
      break;
    case '_':
      out->type = RespValue::Type::kNull;
      out->null_kind = '_';
      break;
    case '$':
    case '=': {
      if (auto s = number(); !s.ok()) return s;
      if (n < 0) {
        out->type = RespValue::Type::kNull;
        out->null_kind = '$';
        break;
      }
      if (data.size() < next + static_cast<size_t>(n) + 2) return false;
      if (data.substr(next + n, 2) != "\r\n") {
        return absl::InvalidArgumentError("bulk not followed by CRLF");
      }
      out->type = type == '$' ? RespValue::Type::kBulk : RespValue::Type::kVerbatim;
      out->str = std::string(data.substr(next, n));
      if (type == '=') out->str = out->str.substr(std::min<size_t>(4, out->str.size()));
      next += n + 2;
      break;
    }
    case '*':
    case '%':
    case '~':
    case '>': {
      if (auto s = number(); !s.ok()) return s;
      if (n < 0) {
        out->type = RespValue::Type::kNull;
        out->null_kind = '*';
        break;
      }
      out->type = type == '*'   ? RespValue::Type::kArray
                  : type == '%' ? RespValue::Type::kMap
                  : type == '~' ? RespValue::Type::kSet
                                : RespValue::Type::kPush;
      const int64_t count = type == '%' ? n * 2 : n;
      out->elements.resize(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) {
        absl::StatusOr<bool> ok = ParseAt(data, &next, &out->elements[i], depth + 1);
        if (!ok.ok() || !*ok) return ok;
      }
      break;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown reply type byte ", int{type}));
  }
  *pos = next;
  return true;
}

}  // namespace

absl::StatusOr<size_t> ParseReply(absl::string_view data, RespValue* out) {
  size_t pos = 0;
  *out = RespValue();
  absl::StatusOr<bool> done = ParseAt(data, &pos, out, 0);
  if (!done.ok()) return done.status();
  return *done ? pos : 0;
}

std::string RespValue::ToString() const {
  const auto join = [this](absl::string_view sep) {
    std::vector<std::string> parts;
    for (const RespValue& e : elements) parts.push_back(e.ToString());
    return absl::StrJoin(parts, sep);
  };
  switch (type) {
    case Type::kSimple:
      return str;
    case Type::kError:
      return absl::StrCat("(error) ", str);
    case Type::kInteger:
      return absl::StrCat("(integer) ", integer);
    case Type::kBulk:
      return absl::StrCat("\"", str, "\"");
    case Type::kNull:
      return "(nil)";
    case Type::kArray:
      return absl::StrCat("[", join(", "), "]");
    case Type::kSet:
      return absl::StrCat("~[", join(", "), "]");
    case Type::kPush:
      return absl::StrCat(">[", join(", "), "]");
    case Type::kMap: {
      std::vector<std::string> parts;
      for (size_t i = 0; i + 1 < elements.size(); i += 2) {
        parts.push_back(absl::StrCat(elements[i].ToString(), ": ", elements[i + 1].ToString()));
      }
      return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
    }
    case Type::kDouble:
      return absl::StrCat("(double) ", str);
    case Type::kBoolean:
      return integer ? "(true)" : "(false)";
    case Type::kVerbatim:
      return absl::StrCat("(verbatim) ", str);
  }
  return "?";
}

}  // namespace kv::server::resp::testing
