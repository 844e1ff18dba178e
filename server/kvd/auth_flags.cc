#include "server/kvd/auth_flags.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "server/kvd/common_flags.h"

namespace kv::server {

void AddAuthFlags(CLI::App* command, AuthFlags* flags, AuthRole role) {
  command
      ->add_option("--auth", flags->auth,
                   "required: every call needs a valid bearer token (JWT) signed by a key of the "
                   "cluster's key set; off: no token checks")
      ->check(CLI::IsMember({"off", "required"}))
      ->capture_default_str();
  command->add_option("--auth-issuer", flags->issuer,
                      "Tokens must carry this `iss` (empty = not checked)");
  command->add_option("--auth-audience", flags->audiences,
                      "Tokens must carry one of these in `aud` (repeatable; none = not checked)");
  command
      ->add_option("--auth-clock-skew", flags->clock_skew,
                   "Clock difference tolerated when checking a token's exp and nbf")
      ->capture_default_str();
  if (role == AuthRole::kCentral) {
    command->add_option("--auth-jwks", flags->jwks_file,
                        "A JWKS file that seeds the cluster's key set when the store holds none "
                        "(later: kvctl auth set-keys); every node receives it by replication");
    command->add_option(
        "--upstream-token-file", flags->upstream_token_file,
        "With --ha-etcd: a file holding the token (replicate scope) this node presents to the "
        "leader it follows as a standby; read again when it changes");
  } else {
    command->add_option(
        "--upstream-token-file", flags->upstream_token_file,
        "A file holding the token (replicate scope) this edge presents to its upstream; read "
        "again when it changes, so a renewed token needs no restart");
  }
}

absl::Status ParseAuthFlags(const AuthFlags& flags, GatekeeperOptions* options) {
  options->required = flags.auth == "required";
  options->verifier.issuer = flags.issuer;
  options->verifier.audiences = flags.audiences;
  if (auto s = ParseDurationFlagInto("--auth-clock-skew", flags.clock_skew,
                                     &options->verifier.clock_skew);
      !s.ok()) {
    return s;
  }
  if (options->verifier.clock_skew < absl::ZeroDuration() ||
      options->verifier.clock_skew > absl::Minutes(10)) {
    return absl::InvalidArgumentError("--auth-clock-skew must be between 0 and 10m");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFlagFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  std::ostringstream content;
  content << in.rdbuf();
  if (!in && !in.eof())
    return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  return content.str();
}

}  // namespace kv::server
