// kvctl auth mint --key FILE --scope '...' [--ttl 1h] [--sub NAME] [--kid ID] [--iss ...] [--aud
// ...] kvctl auth jwks --key FILE [--kid ID] kvctl auth set-keys FILE|-
//
// mint and jwks are local (auth/mint.h): development and test tokens, and the public key set a
// key file stands for; no node is contacted. set-keys replaces the cluster's key set at the
// central node (Admin.SetKeySet, needs the admin scope); every node follows within its bound.

#include <fstream>
#include <memory>
#include <sstream>

#include "auth/key_set.h"
#include "auth/mint.h"
#include "client/admin_status.h"
#include "client/kvctl/commands.h"
#include "client/kvctl/exit_codes.h"
#include "common/units.h"

namespace kv::kvctl {
namespace {

struct AuthFlags {
  std::string key_file;
  std::string scope;
  std::string ttl = "1h";
  std::string sub;
  std::string kid;
  std::string iss;
  std::vector<std::string> aud;
  std::string jwks_file;  // set-keys: a file, or "-" for stdin
};

bool ReadFile(const std::string& command, const std::string& path, std::string* out, Context& ctx) {
  if (path == "-") {
    *out = ReadAll(*ctx.io.in);
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *ctx.io.err << "kvctl auth " << command << ": cannot read " << path << "\n";
    return false;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  return true;
}

int RunMint(const AuthFlags& f, Context& ctx) {
  absl::StatusOr<absl::Duration> ttl = ParseDurationFlag(f.ttl);
  if (!ttl.ok() || *ttl <= absl::ZeroDuration()) {
    *ctx.io.err << "kvctl auth mint: --ttl must be a positive duration such as 1h or 30m\n";
    return kExitUsage;
  }
  std::string key;
  if (!ReadFile("mint", f.key_file, &key, ctx)) return kExitUsage;
  auth::MintRequest request;
  request.scope = f.scope;
  request.ttl = *ttl;
  request.subject = f.sub;
  request.kid = f.kid;
  request.issuer = f.iss;
  request.audiences = f.aud;
  absl::StatusOr<std::string> token = auth::MintToken(key, request);
  if (!token.ok()) {
    *ctx.io.err << "kvctl auth mint: " << f.key_file << ": " << token.status().message() << "\n";
    return kExitUsage;
  }
  *ctx.io.out << *token << "\n";
  return kExitOk;
}

int RunJwks(const AuthFlags& f, Context& ctx) {
  std::string key;
  if (!ReadFile("jwks", f.key_file, &key, ctx)) return kExitUsage;
  absl::StatusOr<std::string> jwks = auth::PublicJwksFromKeyFile(key, f.kid);
  if (!jwks.ok()) {
    *ctx.io.err << "kvctl auth jwks: " << f.key_file << ": " << jwks.status().message() << "\n";
    return kExitUsage;
  }
  *ctx.io.out << *jwks << "\n";
  return kExitOk;
}

int RunSetKeys(const AuthFlags& f, Context& ctx) {
  std::string jwks;
  if (!ReadFile("set-keys", f.jwks_file, &jwks, ctx)) return kExitUsage;
  // Checked here first so a typo is a usage error with the parser's words, not a round trip.
  if (auto parsed = auth::KeySet::Parse(jwks); !parsed.ok()) {
    *ctx.io.err << "kvctl auth set-keys: " << f.jwks_file << ": " << parsed.status().message()
                << "\n";
    return kExitUsage;
  }
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "auth set-keys", &code);
  if (c == nullptr) return code;
  absl::StatusOr<kvstore::v1::SetKeySetResponse> r = client::SetClusterKeySet(*c, jwks);
  if (!r.ok()) return ReportError(*ctx.io.err, "auth set-keys", r.status());
  *ctx.io.out << "key set replaced at version " << r->version() << ": kids";
  for (const std::string& kid : r->kids()) *ctx.io.out << " " << kid;
  *ctx.io.out << "\n";
  return kExitOk;
}

}  // namespace

Command AddAuthCommand(CLI::App& root) {
  auto f = std::make_shared<AuthFlags>();
  CLI::App* app = root.add_subcommand(
      "auth", "Tokens and the cluster's key set: mint, jwks (local), set-keys (central node)");
  app->require_subcommand(1, 1);
  CLI::App* mint = app->add_subcommand(
      "mint", "Print a signed bearer token for development and tests (no node is contacted)");
  mint->add_option("--key", f->key_file,
                   "Private key: PEM (RSA, EC P-256, Ed25519), a private JWK, or an HS256 "
                   "secret file (>= 32 bytes)")
      ->required();
  mint->add_option("--scope", f->scope,
                   "Space-separated scopes, e.g. 'read:users/ write:users/alice/ admin' "
                   "(read:, write: with an empty prefix mean every key)")
      ->required();
  mint->add_option("--ttl", f->ttl, "Lifetime of the token")->default_str("1h");
  mint->add_option("--sub", f->sub, "Subject (who the token is for; shown in logs and status)");
  mint->add_option("--kid", f->kid, "Key id header (default: the JWK's kid)");
  mint->add_option("--iss", f->iss, "Issuer (nodes check it with --auth-issuer)");
  mint->add_option("--aud", f->aud, "Audience, repeatable (nodes check it with --auth-audience)");
  CLI::App* jwks = app->add_subcommand(
      "jwks", "Print the public JWKS of a key file (for --auth-jwks or auth set-keys)");
  jwks->add_option("--key", f->key_file, "Key file, as for mint")->required();
  jwks->add_option("--kid", f->kid, "Key id to publish (default: the JWK's kid)");
  CLI::App* set_keys = app->add_subcommand(
      "set-keys",
      "Replace the cluster's key set at the central node (needs the admin scope); every node "
      "follows within its staleness bound. Rotate by publishing old and new keys, switching "
      "the issuer, then removing the old key");
  set_keys->add_option("FILE", f->jwks_file, "JWKS document, or - for stdin")->required();
  return {app, [f, mint, jwks](Context& ctx) {
            if (mint->parsed()) return RunMint(*f, ctx);
            if (jwks->parsed()) return RunJwks(*f, ctx);
            return RunSetKeys(*f, ctx);
          }};
}

}  // namespace kv::kvctl
