#include "client/kvctl/context.h"

#include <cstdlib>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "client/kvctl/exit_codes.h"
#include "common/units.h"

namespace kv::kvctl {

void AddGlobalFlags(CLI::App& app, GlobalFlags* flags) {
  app.add_option("--endpoint", flags->endpoint,
                 "Node to talk to, HOST:PORT (default: $KV_ENDPOINT, else 127.0.0.1:7000)")
      ->type_name("HOST:PORT");
  app.add_option("--timeout", flags->timeout, "Deadline of each call, e.g. 500ms, 10s")
      ->type_name("DURATION")
      ->capture_default_str();
  app.add_flag("--tls", flags->tls,
               "Speak TLS (implied by --tls-ca and --tls-cert); without --tls-ca, nodes are "
               "verified with the system's root certificates");
  app.add_option("--tls-ca", flags->tls_ca,
                 "PEM CA that signed the nodes' certificates: speak TLS (default: $KV_TLS_CA)")
      ->type_name("FILE");
  app.add_option("--tls-cert", flags->tls_cert,
                 "PEM client certificate, for nodes that require one (default: $KV_TLS_CERT)")
      ->type_name("FILE");
  app.add_option("--tls-key", flags->tls_key, "PEM key of --tls-cert (default: $KV_TLS_KEY)")
      ->type_name("FILE");
  app.add_option("--tls-server-name", flags->tls_server_name,
                 "Name the node's certificate must carry, for an --endpoint given as an IP "
                 "address it does not list (default: $KV_TLS_SERVER_NAME)")
      ->type_name("NAME");
  app.add_option("--token", flags->token,
                 "Bearer token sent with every call (default: $KV_TOKEN; prefer the variable: "
                 "arguments are visible to other users in ps)")
      ->type_name("TOKEN");
}

std::string ResolveEndpoint(const std::string& flag, const char* env_endpoint) {
  if (!flag.empty()) return flag;
  if (env_endpoint != nullptr && env_endpoint[0] != '\0') return env_endpoint;
  return kDefaultEndpoint;
}

namespace {

// The flag, else the environment variable `name`, else "".
std::string FlagOrEnv(const std::string& flag, const GetEnv& getenv, const char* name) {
  if (!flag.empty()) return flag;
  const char* value = getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

absl::StatusOr<client::ClientOptions> ClientOptionsFor(const GlobalFlags& flags,
                                                       const GetEnv& getenv) {
  absl::StatusOr<absl::Duration> timeout = ParseDurationFlag(flags.timeout);
  if (!timeout.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--timeout: ", timeout.status().message()));
  }
  if (*timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout: must be > 0");
  }
  client::ClientOptions options;
  options.write_endpoint = ResolveEndpoint(flags.endpoint, getenv("KV_ENDPOINT"));
  options.read_endpoints = {options.write_endpoint};
  options.timeout = *timeout;
  options.tls.enabled = flags.tls;
  options.tls.ca_file = FlagOrEnv(flags.tls_ca, getenv, "KV_TLS_CA");
  options.tls.cert_file = FlagOrEnv(flags.tls_cert, getenv, "KV_TLS_CERT");
  options.tls.key_file = FlagOrEnv(flags.tls_key, getenv, "KV_TLS_KEY");
  options.tls.server_name = FlagOrEnv(flags.tls_server_name, getenv, "KV_TLS_SERVER_NAME");
  options.bearer_token = FlagOrEnv(flags.token, getenv, "KV_TOKEN");
  return options;
}

std::unique_ptr<client::Client> Connect(Context& ctx, const std::string& command, int* exit_code) {
  absl::StatusOr<client::ClientOptions> options =
      ClientOptionsFor(ctx.flags, [](const char* name) { return std::getenv(name); });
  if (!options.ok()) {
    *exit_code = ReportUsage(*ctx.io.err, command, options.status().message());
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Create(*options);
  if (!c.ok()) {
    *exit_code = ReportUsage(*ctx.io.err, command, c.status().message());
    return nullptr;
  }
  return std::move(*c);
}

std::string ReadAll(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace kv::kvctl
