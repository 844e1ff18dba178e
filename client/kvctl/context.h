#pragma once
// What every kvctl command gets: the global flags and its input/output streams.

#include <CLI/CLI.hpp>
#include <functional>
#include <istream>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "kv/client.h"

namespace kv::kvctl {

inline constexpr const char* kDefaultEndpoint = "127.0.0.1:7000";

struct GlobalFlags {
  // --endpoint; empty = $KV_ENDPOINT, else kDefaultEndpoint.
  std::string endpoint;
  // --timeout: deadline of each call.
  std::string timeout = "10s";
  // --tls: speak TLS, verifying nodes with the system's roots unless --tls-ca is given.
  bool tls = false;
  // --tls-ca, --tls-cert, --tls-key, --tls-server-name; empty = $KV_TLS_CA, $KV_TLS_CERT,
  // $KV_TLS_KEY, $KV_TLS_SERVER_NAME.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  // --token; empty = $KV_TOKEN. Sent as `authorization: Bearer <token>` on every call.
  std::string token;
};

// Reads an environment variable (std::getenv in kvctl; a map in tests). Null = unset.
using GetEnv = std::function<const char*(const char* name)>;

struct Io {
  std::istream* in;
  std::ostream* out;
  std::ostream* err;
  // Progress lines only go to a terminal.
  bool err_is_tty = false;
};

struct Context {
  GlobalFlags flags;
  Io io;
};

// A registered subcommand and what to run when it was chosen.
struct Command {
  CLI::App* app = nullptr;
  std::function<int(Context&)> run;
};

void AddGlobalFlags(CLI::App& app, GlobalFlags* flags);

// --endpoint, else `env_endpoint` (KV_ENDPOINT) when non-empty, else 127.0.0.1:7000.
std::string ResolveEndpoint(const std::string& flag, const char* env_endpoint);

// Client options for kvctl: one endpoint for reads and writes, --timeout as the deadline, TLS
// and the token from the flags, else from the environment (KV_ENDPOINT, KV_TLS_CA,
// KV_TLS_CERT, KV_TLS_KEY, KV_TLS_SERVER_NAME, KV_TOKEN). Errors are usage errors (a bad
// --timeout).
absl::StatusOr<client::ClientOptions> ClientOptionsFor(const GlobalFlags& flags,
                                                       const GetEnv& getenv);

// Creates the client for a command; on failure reports and sets *exit_code.
std::unique_ptr<client::Client> Connect(Context& ctx, const std::string& command, int* exit_code);

// Reads the whole stream (binary-safe), for VALUE "-".
std::string ReadAll(std::istream& in);

}  // namespace kv::kvctl
