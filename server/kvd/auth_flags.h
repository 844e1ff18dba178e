#pragma once
// The token flags of `kvd central` and `kvd edge` (docs/security.md), and their translation into
// the Gatekeeper's options.

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "server/access/gatekeeper.h"

namespace kv::server {

struct AuthFlags {
  std::string auth = "off";
  std::string issuer;
  std::vector<std::string> audiences;
  std::string clock_skew = "30s";
  // Central only: the JWKS document that seeds the cluster's key set.
  std::string jwks_file;
  // Edge only: the token this edge presents to its upstream (replicate scope).
  std::string upstream_token_file;
};

enum class AuthRole { kCentral, kEdge };

void AddAuthFlags(CLI::App* command, AuthFlags* flags, AuthRole role);

// Fills `options`; errors name the flag.
absl::Status ParseAuthFlags(const AuthFlags& flags, GatekeeperOptions* options);

// Reads a whole small file (a key set, a token); errors name the flag and the file.
absl::StatusOr<std::string> ReadFlagFile(const std::string& flag, const std::string& path);

}  // namespace kv::server
