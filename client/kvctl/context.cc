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
}

std::string ResolveEndpoint(const std::string& flag, const char* env_endpoint) {
  if (!flag.empty()) return flag;
  if (env_endpoint != nullptr && env_endpoint[0] != '\0') return env_endpoint;
  return kDefaultEndpoint;
}

absl::StatusOr<client::ClientOptions> ClientOptionsFor(const GlobalFlags& flags,
                                                       const char* env_endpoint) {
  absl::StatusOr<absl::Duration> timeout = ParseDurationFlag(flags.timeout);
  if (!timeout.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--timeout: ", timeout.status().message()));
  }
  if (*timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout: must be > 0");
  }
  client::ClientOptions options;
  options.write_endpoint = ResolveEndpoint(flags.endpoint, env_endpoint);
  options.read_endpoints = {options.write_endpoint};
  options.timeout = *timeout;
  return options;
}

std::unique_ptr<client::Client> Connect(Context& ctx, const std::string& command, int* exit_code) {
  absl::StatusOr<client::ClientOptions> options =
      ClientOptionsFor(ctx.flags, std::getenv("KV_ENDPOINT"));
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
