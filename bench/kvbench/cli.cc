#include "bench/kvbench/cli.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/units.h"

namespace kv::kvbench {
namespace {

absl::Status Duration(const std::string& flag, const std::string& text, absl::Duration* out,
                      bool allow_zero = true) {
  auto d = ParseDurationFlag(text);
  if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", d.status().message()));
  if (*d < absl::ZeroDuration() || (!allow_zero && *d == absl::ZeroDuration())) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " must be ",
                                                   allow_zero ? "" : "more than ",
                                                   allow_zero ? "0 or more" : "0", ", got ", text));
  }
  *out = *d;
  return absl::OkStatus();
}

absl::Status Bytes(const std::string& flag, const std::string& text, uint64_t* out) {
  auto b = ParseByteSize(text);
  if (!b.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", b.status().message()));
  if (*b > (64u << 20)) return absl::InvalidArgumentError(absl::StrCat(flag, " is at most 64MiB"));
  *out = *b;
  return absl::OkStatus();
}

#define KV_RETURN_IF_ERROR(expr) \
  do {                           \
    absl::Status _s = (expr);    \
    if (!_s.ok()) return _s;     \
  } while (0)

}  // namespace

Cli::Cli() : app_("kvbench: load generator and replication-lag meter for kvstore") {
  app_.require_subcommand(1);
  app_.set_help_all_flag("--help-all", "Help for every subcommand");
  const auto endpoint = "HOST:PORT";

  run_ = app_.add_subcommand(
      "run",
      "Closed-loop load: --concurrency requests in flight over --connections channels, "
      "measured after a warm-up; prints a summary and, last, one JSON line");
  RunFlags& r = run_flags_;
  run_->add_option("--target,-t", r.targets,
                   "Node to load, HOST:PORT; repeat (or comma-separate) for several: connections "
                   "are spread over them round robin")
      ->required()
      ->delimiter(',')
      ->type_name(endpoint);
  run_->add_option("--workload,-w", r.workload,
                   "read: Get; write: Put; mixed: Get or Put by --read-ratio; batch: BatchGet of "
                   "--batch-size keys")
      ->check(CLI::IsMember({"read", "write", "mixed", "batch"}))
      ->capture_default_str();
  run_->add_option("--read-ratio", r.read_ratio, "mixed: fraction of operations that are Gets")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  run_->add_option("--batch-size", r.batch_size, "batch: keys per BatchGet (1..100)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  run_->add_option("--keys,-k", r.keys, "Number of distinct keys")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  run_->add_option("--key-prefix", r.key_prefix, "Prefix of every key (key i is PREFIX + i padded)")
      ->capture_default_str();
  run_->add_option("--distribution,-d", r.distribution,
                   "Which keys are touched: uniform, or zipf (skewed, exponent --zipf-s)")
      ->check(CLI::IsMember({"uniform", "zipf"}))
      ->capture_default_str();
  run_->add_option("--zipf-s", r.zipf_s, "Zipf exponent s (> 0; 0.99 as in YCSB)")
      ->check(CLI::Range(1e-6, 100.0))
      ->capture_default_str();
  run_->add_option("--value-size", r.value_size, "Bytes per written value (e.g. 100, 4KiB)")
      ->type_name("SIZE")
      ->capture_default_str();
  run_->add_flag("--preload", r.preload,
                 "Write every key once, in order, before the warm-up (with progress)");
  run_->add_flag("--preload-only", r.preload_only, "Write every key once and exit");
  run_->add_option("--concurrency,-c", r.concurrency, "Requests in flight in total")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  run_->add_option("--connections", r.connections,
                   "Separate channels (TCP connections); concurrency is spread over them")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  run_->add_option("--engine", r.engine,
                   "cq: async API, one CompletionQueue per --threads thread; callback: gRPC "
                   "callback API on gRPC's threads")
      ->check(CLI::IsMember({"cq", "callback"}))
      ->capture_default_str();
  run_->add_option(
          "--threads", r.threads,
          "cq engine: threads polling completion queues (1 leaves the most CPU to a server on the "
          "same box; raise it when kvbench itself is the bottleneck)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  run_->add_option("--duration", r.duration, "Length of the measured phase (e.g. 10s, 1m)")
      ->type_name("DURATION")
      ->capture_default_str();
  run_->add_option("--ops,-n", r.ops,
                   "Measure this many operations instead of a duration (0 = use --duration)")
      ->capture_default_str();
  run_->add_option("--warmup", r.warmup, "Load before measuring, not counted (e.g. 2s, 0)")
      ->type_name("DURATION")
      ->capture_default_str();
  run_->add_option("--timeout", r.timeout, "Deadline of every request")
      ->type_name("DURATION")
      ->capture_default_str();
  run_->add_option("--consistency", r.consistency,
                   "Reads: bounded (nearest fresh-enough node) or strong (central node)")
      ->check(CLI::IsMember({"bounded", "strong"}))
      ->capture_default_str();
  run_->add_option("--max-staleness", r.max_staleness,
                   "Reads: staleness bound sent with every read (0 = the node's default)")
      ->type_name("DURATION")
      ->capture_default_str();
  run_->add_option("--min-version", r.min_version,
                   "Reads: min_version sent with every read (read-your-writes); 0 = none")
      ->capture_default_str();
  run_->add_flag("--allow-stale", r.allow_stale,
                 "Reads: accept stale local data when no node within the bound can answer");
  run_->add_option("--tls-ca", r.tls_ca, "PEM CA of the nodes' certificates: connect over TLS")
      ->type_name("FILE");
  run_->add_option("--tls-cert", r.tls_cert, "PEM client certificate, for nodes that require one")
      ->type_name("FILE");
  run_->add_option("--tls-key", r.tls_key, "PEM key of --tls-cert")->type_name("FILE");
  run_->add_option("--tls-server-name", r.tls_server_name,
                   "Name the nodes' certificates must carry, for targets given as IP addresses "
                   "they do not list")
      ->type_name("NAME");
  run_->add_option("--token", r.token, "Bearer token sent with every request (default: $KV_TOKEN)")
      ->type_name("TOKEN");
  AddShared(run_, &run_shared_);

  lag_ = app_.add_subcommand(
      "lag",
      "Replication lag: time from a write's acknowledgement at --central until each --edge "
      "serves it, under a paced background write load");
  LagFlags& l = lag_flags_;
  lag_->add_option("--central", l.central, "Central node, HOST:PORT (all writes go there)")
      ->required()
      ->type_name(endpoint);
  lag_->add_option("--edge,-e", l.edges, "Edge to measure, HOST:PORT; repeat for several")
      ->required()
      ->delimiter(',')
      ->type_name(endpoint);
  lag_->add_option("--rate", l.rate, "Background writes per second, paced open loop (0 = none)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  lag_->add_option("--samples", l.samples, "Probe writes measured")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  lag_->add_option("--interval", l.interval,
                   "Mean gap between probes (each gap drawn from 0.5x..1.5x)")
      ->type_name("DURATION")
      ->capture_default_str();
  lag_->add_option("--warmup", l.warmup, "Background load before the first probe")
      ->type_name("DURATION")
      ->capture_default_str();
  lag_->add_option("--sample-timeout", l.sample_timeout,
                   "An edge not serving a probe this long after its ack counts a timeout")
      ->type_name("DURATION")
      ->capture_default_str();
  lag_->add_option("--timeout", l.timeout, "Deadline of every write and poll")
      ->type_name("DURATION")
      ->capture_default_str();
  lag_->add_option("--value-size", l.value_size, "Bytes per background and probe value")
      ->type_name("SIZE")
      ->capture_default_str();
  lag_->add_option("--keys", l.keys, "Distinct keys the background writes spread over")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  lag_->add_option("--key-prefix", l.key_prefix, "Prefix of background and probe keys")
      ->capture_default_str();
  lag_->add_option("--max-outstanding", l.max_outstanding,
                   "Background writes in flight at most; due writes beyond are skipped (counted)")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  lag_->add_option("--poll-max-staleness", l.poll_max_staleness,
                   "Staleness bound of the polls: large, so edges answer from their own store")
      ->type_name("DURATION")
      ->capture_default_str();
  AddShared(lag_, &lag_shared_);
}

void Cli::AddShared(CLI::App* cmd, SharedFlags* f) {
  cmd->add_option("--connect-timeout", f->connect_timeout,
                  "Give up when a node does not accept a connection within this time")
      ->type_name("DURATION")
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed of every random choice (keys, op mix, gaps)")
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", f->quiet, "No progress lines on stderr");
  cmd->add_flag("--json", f->json_only, "Print only the JSON line on stdout");
  cmd->add_option("--progress-interval", f->progress_interval, "Time between progress lines")
      ->type_name("DURATION")
      ->capture_default_str();
}

absl::StatusOr<Command> Cli::Resolve() const {
  Command command;
  absl::Status s = run_->parsed() ? ResolveRun(&command) : ResolveLag(&command);
  if (!s.ok()) return s;
  return command;
}

absl::Status Cli::ResolveRun(Command* command) const {
  const RunFlags& r = run_flags_;
  LoadOptions& o = command->load;
  command->kind = Command::Kind::kRun;
  o.connection.targets = r.targets;
  o.connection.connections = r.connections;
  o.connection.concurrency = r.concurrency;
  o.connection.engine = r.engine == "cq" ? EngineKind::kCompletionQueue : EngineKind::kCallback;
  o.connection.threads = r.threads;
  tls::ClientTlsFiles tls_files;
  tls_files.ca_file = r.tls_ca;
  tls_files.cert_file = r.tls_cert;
  tls_files.key_file = r.tls_key;
  tls_files.server_name = r.tls_server_name;
  const char* env_token = std::getenv("KV_TOKEN");
  auto security = tls::ClientChannelSecurity::Make(
      tls_files, !r.token.empty() ? r.token : (env_token != nullptr ? env_token : ""));
  if (!security.ok()) return security.status();
  o.connection.security = *std::move(security);
  KV_RETURN_IF_ERROR(Duration("--timeout", r.timeout, &o.connection.timeout, false));
  o.workload = r.workload == "read"    ? Workload::kRead
               : r.workload == "write" ? Workload::kWrite
               : r.workload == "mixed" ? Workload::kMixed
                                       : Workload::kBatch;
  o.read_ratio = r.read_ratio;
  o.batch_size = r.batch_size;
  o.keys.keys = r.keys;
  o.keys.prefix = r.key_prefix;
  o.keys.distribution = r.distribution == "zipf" ? Distribution::kZipf : Distribution::kUniform;
  o.keys.zipf_s = r.zipf_s;
  KV_RETURN_IF_ERROR(Bytes("--value-size", r.value_size, &o.value_size));
  o.preload = r.preload || r.preload_only;
  command->preload_only = r.preload_only;
  KV_RETURN_IF_ERROR(Duration("--duration", r.duration, &o.duration));
  o.ops = r.ops;
  if (o.ops == 0 && o.duration == absl::ZeroDuration() && !r.preload_only) {
    return absl::InvalidArgumentError("give a --duration above 0 or --ops");
  }
  KV_RETURN_IF_ERROR(Duration("--warmup", r.warmup, &o.warmup));
  if (r.connections > r.concurrency) {
    return absl::InvalidArgumentError(
        absl::StrCat("--connections (", r.connections, ") must not exceed --concurrency (",
                     r.concurrency, "): a connection needs a request"));
  }
  auto& read = o.read_options;
  read.set_consistency(r.consistency == "strong" ? kvstore::v1::CONSISTENCY_STRONG
                                                 : kvstore::v1::CONSISTENCY_BOUNDED);
  absl::Duration staleness;
  KV_RETURN_IF_ERROR(Duration("--max-staleness", r.max_staleness, &staleness));
  read.set_max_staleness_micros(absl::ToInt64Microseconds(staleness));
  read.set_min_version(r.min_version);
  read.set_allow_stale(r.allow_stale);
  KV_RETURN_IF_ERROR(Duration("--connect-timeout", run_shared_.connect_timeout,
                              &o.connection.connect_timeout, false));
  o.seed = run_shared_.seed;
  o.progress = !run_shared_.quiet;
  command->json_only = run_shared_.json_only;
  return Duration("--progress-interval", run_shared_.progress_interval, &o.progress_interval,
                  false);
}

absl::Status Cli::ResolveLag(Command* command) const {
  const LagFlags& l = lag_flags_;
  LagOptions& o = command->lag;
  command->kind = Command::Kind::kLag;
  o.central = l.central;
  o.edges = l.edges;
  o.background.rate = l.rate;
  o.background.max_outstanding = l.max_outstanding;
  KV_RETURN_IF_ERROR(Bytes("--value-size", l.value_size, &o.background.value_size));
  o.keys.keys = l.keys;
  o.keys.prefix = l.key_prefix;
  o.samples = l.samples;
  KV_RETURN_IF_ERROR(Duration("--interval", l.interval, &o.interval));
  KV_RETURN_IF_ERROR(Duration("--warmup", l.warmup, &o.warmup));
  KV_RETURN_IF_ERROR(Duration("--sample-timeout", l.sample_timeout, &o.sample_timeout, false));
  KV_RETURN_IF_ERROR(Duration("--timeout", l.timeout, &o.timeout, false));
  o.background.timeout = o.timeout;
  KV_RETURN_IF_ERROR(
      Duration("--poll-max-staleness", l.poll_max_staleness, &o.poll_max_staleness, false));
  KV_RETURN_IF_ERROR(
      Duration("--connect-timeout", lag_shared_.connect_timeout, &o.connect_timeout, false));
  o.seed = lag_shared_.seed;
  o.background.seed = lag_shared_.seed + 1;
  o.progress = !lag_shared_.quiet;
  command->json_only = lag_shared_.json_only;
  return Duration("--progress-interval", lag_shared_.progress_interval, &o.progress_interval,
                  false);
}

}  // namespace kv::kvbench
