#include "server/kvd/common_flags.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/units.h"
#include "server/kvd/descriptor_limit.h"

namespace kv::server {

void AddCommonFlags(CLI::App* command, CommonFlags* flags, const std::string& default_listen) {
  flags->listen = default_listen;
  command
      ->add_option("--listen", flags->listen,
                   "gRPC address to serve on, HOST:PORT (port 0 = any free port)")
      ->capture_default_str();
  command
      ->add_option("--max-connections", flags->max_connections,
                   "Open gRPC connections at most; the excess is reset at once (0 = two thirds of "
                   "what the descriptor limit leaves after the HTTP and RESP caps and a reserve)")
      ->capture_default_str();
  command->add_option("--http", flags->http,
                      "HTTP address for /v1/kv, /metrics, /healthz, /readyz (empty = no HTTP)");
  command->add_option("--resp", flags->resp,
                      "Redis protocol (RESP2/RESP3) address, HOST:PORT (empty = none; "
                      "docs/resp.md)");
  command->add_option("--resp-threads", flags->resp_threads, "Threads serving RESP")
      ->capture_default_str();
  command
      ->add_option("--resp-max-connections", flags->resp_max_connections,
                   "Open RESP connections at most; the excess is refused")
      ->capture_default_str();
  command
      ->add_option("--resp-idle-timeout", flags->resp_idle_timeout,
                   "Close a RESP connection that makes no progress for this long")
      ->capture_default_str();
  command
      ->add_option("--resp-max-output-bytes", flags->resp_max_output_bytes,
                   "Reply bytes a RESP connection may hold for a client that does not read them; "
                   "beyond it the connection is closed")
      ->capture_default_str();
  command->add_option("--data-dir", flags->data_dir, "Directory of this node's RocksDB data")
      ->required();
  command->add_option("--node-id", flags->node_id,
                      "Name of this node in logs, Status and upstream tables (default: "
                      "'central', or 'edge-' and the listen address)");
  command->add_option("--max-key-bytes", flags->max_key_bytes, "Longest key accepted, bytes")
      ->capture_default_str();
  command
      ->add_option("--max-value-bytes", flags->max_value_bytes,
                   "Largest value accepted (e.g. 25MiB); gRPC message limits follow it")
      ->capture_default_str();
  command
      ->add_option("--max-metadata-bytes", flags->max_metadata_bytes,
                   "Largest metadata accepted, bytes")
      ->capture_default_str();
  command->add_option("--min-ttl", flags->min_ttl, "Shortest TTL accepted (e.g. 1s)")
      ->capture_default_str();
  command->add_option("--block-cache", flags->block_cache, "RocksDB block cache size")
      ->capture_default_str();
  command->add_option("--http-threads", flags->http_threads, "Threads serving HTTP")
      ->capture_default_str();
  command
      ->add_option("--http-idle-timeout", flags->http_idle_timeout,
                   "Close a keep-alive HTTP connection with no new request after this")
      ->capture_default_str();
  command
      ->add_option("--http-write-timeout", flags->http_write_timeout,
                   "Close an HTTP connection whose client stopped reading an answer after this")
      ->capture_default_str();
  command
      ->add_option("--max-watchers", flags->max_watchers,
                   "Watch streams (gRPC KV.Watch and HTTP /v1/watch) this node serves at once; "
                   "more are refused with RESOURCE_EXHAUSTED")
      ->capture_default_str();
  command
      ->add_option("--watch-progress-interval", flags->watch_progress_interval,
                   "How often a watcher gets a progress message (applied version, staleness) "
                   "while nothing it watches changes")
      ->capture_default_str();
  command
      ->add_option("--watch-max-lag", flags->watch_max_lag,
                   "A watcher that reads so slowly that it falls more than this many versions "
                   "behind is ended with RESOURCE_EXHAUSTED and the version to resume from")
      ->capture_default_str();
  command
      ->add_option("--http-max-connections", flags->http_max_connections,
                   "Open HTTP connections at most; the excess gets 503 and is closed")
      ->capture_default_str();
  command
      ->add_option("--http-max-pending-bytes", flags->http_max_pending_bytes,
                   "HTTP answer bytes held for slow clients, in all; beyond it answers get 503")
      ->capture_default_str();
  command->add_option("--ready-file", flags->ready_file,
                      "Write the bound addresses as JSON to this file once serving (for scripts "
                      "and tests)");
  command->add_flag("--verbose,-v", flags->verbose, "Log debug messages (as --log-level debug)");
  command->add_option("--log-format", flags->log_format, "Log lines as text or as JSON objects")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  command
      ->add_option("--log-level", flags->log_level,
                   "Least severe messages logged: debug, info, warn or error (no line per "
                   "request at info)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  AddTlsFlags(command, &flags->tls);
}

absl::Status ParseDurationFlagInto(const std::string& flag, const std::string& text,
                                   absl::Duration* out) {
  auto d = ParseDurationFlag(text);
  if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", d.status().message()));
  *out = *d;
  return absl::OkStatus();
}

absl::Status ParseBytesFlagInto(const std::string& flag, const std::string& text, uint64_t* out) {
  auto b = ParseByteSize(text);
  if (!b.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", b.status().message()));
  *out = *b;
  return absl::OkStatus();
}

absl::Status ParsePositiveDurationFlagInto(const std::string& flag, const std::string& text,
                                           absl::Duration* out) {
  if (auto s = ParseDurationFlagInto(flag, text, out); !s.ok()) return s;
  if (*out <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " must be a positive duration"));
  }
  return absl::OkStatus();
}

absl::Status ParseWatchFlags(const CommonFlags& flags, WatchHubOptions* watch) {
  if (flags.max_watchers < 1 || flags.max_watchers > 1000000) {
    return absl::InvalidArgumentError("--max-watchers must be 1..1000000");
  }
  if (flags.watch_max_lag < 1) return absl::InvalidArgumentError("--watch-max-lag must be >= 1");
  watch->max_watchers = flags.max_watchers;
  watch->max_lag_changes = flags.watch_max_lag;
  return ParsePositiveDurationFlagInto("--watch-progress-interval", flags.watch_progress_interval,
                                       &watch->progress_interval);
}

absl::Status ParseLimits(const CommonFlags& flags, Limits* limits) {
  if (auto s = ParseBytesFlagInto("--max-key-bytes", flags.max_key_bytes, &limits->max_key_bytes);
      !s.ok()) {
    return s;
  }
  if (limits->max_key_bytes < 1 || limits->max_key_bytes > 65535) {
    return absl::InvalidArgumentError("--max-key-bytes must be 1..65535");
  }
  if (auto s =
          ParseBytesFlagInto("--max-value-bytes", flags.max_value_bytes, &limits->max_value_bytes);
      !s.ok()) {
    return s;
  }
  if (limits->max_value_bytes > (1ull << 30)) {
    return absl::InvalidArgumentError("--max-value-bytes must be at most 1GiB");
  }
  if (auto s = ParseBytesFlagInto("--max-metadata-bytes", flags.max_metadata_bytes,
                                  &limits->max_metadata_bytes);
      !s.ok()) {
    return s;
  }
  absl::Duration ttl;
  if (auto s = ParseDurationFlagInto("--min-ttl", flags.min_ttl, &ttl); !s.ok()) return s;
  limits->min_ttl_seconds = std::max<int64_t>(1, absl::ToInt64Seconds(ttl));
  return absl::OkStatus();
}

absl::Status ParseServeOptions(const CommonFlags& flags, const Limits& limits,
                               ServeOptions* serve) {
  serve->listen = flags.listen;
  serve->http_listen = flags.http;
  serve->max_message_bytes = limits.MaxMessageBytes();
  serve->ready_file = flags.ready_file;
  serve->http_threads = std::max(1, flags.http_threads);
  serve->limits = limits;
  serve->resp_listen = flags.resp;
  if (flags.resp_threads < 1 || flags.resp_threads > 256) {
    return absl::InvalidArgumentError("--resp-threads must be 1..256");
  }
  serve->resp_threads = flags.resp_threads;
  if (flags.resp_max_connections < 1 || flags.resp_max_connections > 1000000) {
    return absl::InvalidArgumentError("--resp-max-connections must be 1..1000000");
  }
  serve->resp_max_connections = flags.resp_max_connections;
  if (auto s = ParsePositiveDurationFlagInto("--resp-idle-timeout", flags.resp_idle_timeout,
                                             &serve->resp_idle_timeout);
      !s.ok()) {
    return s;
  }
  uint64_t resp_output = 0;
  if (auto s =
          ParseBytesFlagInto("--resp-max-output-bytes", flags.resp_max_output_bytes, &resp_output);
      !s.ok()) {
    return s;
  }
  if (resp_output < limits.max_value_bytes + (1u << 20)) {
    return absl::InvalidArgumentError(
        "--resp-max-output-bytes must be at least --max-value-bytes plus 1MiB");
  }
  serve->resp_max_output_bytes = resp_output;
  if (auto s = ParsePositiveDurationFlagInto("--http-idle-timeout", flags.http_idle_timeout,
                                             &serve->http_idle_timeout);
      !s.ok()) {
    return s;
  }
  if (auto s = ParsePositiveDurationFlagInto("--http-write-timeout", flags.http_write_timeout,
                                             &serve->http_write_timeout);
      !s.ok()) {
    return s;
  }
  if (flags.http_max_connections < 1 || flags.http_max_connections > 1000000) {
    return absl::InvalidArgumentError("--http-max-connections must be 1..1000000");
  }
  serve->http_max_connections = flags.http_max_connections;
  uint64_t pending = 0;
  if (auto s =
          ParseBytesFlagInto("--http-max-pending-bytes", flags.http_max_pending_bytes, &pending);
      !s.ok()) {
    return s;
  }
  if (pending < (1u << 20)) {
    return absl::InvalidArgumentError("--http-max-pending-bytes must be at least 1MiB");
  }
  serve->http_max_pending_bytes = pending;
  if (auto s = ParseTlsFlags(flags.tls, flags.listen, flags.http, serve); !s.ok()) return s;
  // gRPC's listener dies on EMFILE: every listener's cap must fit under the descriptor limit.
  const DescriptorLimit descriptors = RaiseDescriptorLimit();
  const uint64_t others = (flags.http.empty() ? 0 : serve->http_max_connections) +
                          (flags.resp.empty() ? 0 : serve->resp_max_connections);
  auto budget = GrpcConnectionBudget(flags.max_connections, descriptors.limit, others);
  if (!budget.ok()) return budget.status();
  if (!budget->warning.empty()) KV_LOG(WARN) << budget->warning;
  serve->max_connections = budget->max_connections;
  return absl::OkStatus();
}

void SetUpLogging(const CommonFlags& flags, const std::string& role) {
  SetLogName(flags.node_id.empty() ? role : flags.node_id);
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(flags.log_level, &level);  // the flag's check admits only known levels
  SetLogLevel(flags.verbose ? LogLevel::kDebug : level);
  SetLogFormat(flags.log_format == "json" ? LogFormat::kJson : LogFormat::kText);
}

int StartupFailure(const absl::Status& status) {
  std::fprintf(stderr, "kvd: %s\n", std::string(status.message()).c_str());
  return 1;
}

}  // namespace kv::server
