#include "server/http/url.h"

#include "absl/strings/str_cat.h"

namespace kv::server {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

absl::Status PercentDecode(absl::string_view in, std::string* out, bool plus_is_space) {
  out->reserve(out->size() + in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      const int hi = i + 1 < in.size() ? HexValue(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(absl::StrCat("malformed percent-escape at offset ", i,
                                                       ": '%' must be followed by two hex digits"));
      }
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return absl::OkStatus();
}

void PercentEncode(absl::string_view in, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out->reserve(out->size() + in.size());
  for (const char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if (Unreserved(u)) {
      out->push_back(c);
    } else {
      out->push_back('%');
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    }
  }
}

std::string PercentEncode(absl::string_view in) {
  std::string out;
  PercentEncode(in, &out);
  return out;
}

absl::Status ParseQuery(absl::string_view query, std::vector<QueryParam>* params) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const absl::string_view part = query.substr(0, amp);
    query = amp == absl::string_view::npos ? absl::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    QueryParam param;
    absl::Status s = PercentDecode(part.substr(0, eq), &param.name, true);
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("query parameter name: ", s.message()));
    }
    if (eq != absl::string_view::npos) {
      param.has_value = true;
      s = PercentDecode(part.substr(eq + 1), &param.value, true);
      if (!s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("query parameter '", param.name, "': ", s.message()));
      }
    }
    params->push_back(std::move(param));
  }
  return absl::OkStatus();
}

}  // namespace kv::server
