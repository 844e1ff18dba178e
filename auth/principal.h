#pragma once
// What a verified token says about its bearer: who, until when, and what it may do. Built once
// per token and shared (std::shared_ptr<const Principal>) by every call that presents it;
// immutable, so safe to read from any thread.

#include <cstdint>
#include <string>

#include "auth/alg.h"
#include "auth/permissions.h"

namespace kv::auth {

struct Principal {
  std::string subject;       // "sub", or "" when absent; for logs, never for decisions
  std::string kid;           // the key that verified the token ("" for a kid-less key)
  Alg alg = Alg::kHS256;     // the algorithm it was signed with
  int64_t expires_unix = 0;  // "exp" in Unix seconds; 0 when the token has none
  Permissions permissions;   // parsed from "scope"
};

}  // namespace kv::auth
