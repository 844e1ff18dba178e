#pragma once
// SCAN MATCH patterns this store can answer: a literal prefix followed by one '*' ("user:*",
// "*"). The literal may escape glob characters with a backslash ("a\*b*" is the prefix "a*b").

#include <string>

#include "absl/strings/string_view.h"

namespace kv::server::resp {

// The prefix `pattern` matches, or false when it is not a prefix pattern (no final '*', or an
// unescaped '*', '?' or '[' before it, or a dangling backslash).
bool PrefixOfPattern(absl::string_view pattern, std::string* prefix);

}  // namespace kv::server::resp
