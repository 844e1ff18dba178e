#include "server/resp/scan_pattern.h"

namespace kv::server::resp {

bool PrefixOfPattern(absl::string_view pattern, std::string* prefix) {
  prefix->clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) return false;
      prefix->push_back(pattern[++i]);
    } else if (c == '*') {
      return i + 1 == pattern.size();  // only as the last character
    } else if (c == '?' || c == '[') {
      return false;
    } else {
      prefix->push_back(c);
    }
  }
  return false;  // no final '*': an exact key, not a prefix
}

}  // namespace kv::server::resp
