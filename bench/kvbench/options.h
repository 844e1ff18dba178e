#pragma once
// What a kvbench run does. The CLI (cli.cc) fills these from flags; tests fill them directly.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench/kvbench/keys.h"
#include "common/tls/client_channel.h"
#include "kvstore/v1/kv.pb.h"

namespace kv::kvbench {

enum class Workload {
  kRead,   // Get
  kWrite,  // Put
  kMixed,  // Get with probability read_ratio, else Put
  kBatch,  // BatchGet of batch_size keys
};
const char* WorkloadName(Workload workload);

enum class EngineKind {
  kCompletionQueue,  // generic async API: one CompletionQueue per thread, threads we own
  kCallback,         // callback API: completions run on gRPC's own threads
};
const char* EngineName(EngineKind engine);

// The part every run shares: where to connect and how hard to push.
struct ConnectionOptions {
  // HOST:PORT of the nodes under load; connections are spread over them round robin.
  std::vector<std::string> targets;
  // Separate channels (separate TCP connections).
  int connections = 4;
  // Requests in flight in total, spread evenly over the connections.
  int concurrency = 50;
  EngineKind engine = EngineKind::kCompletionQueue;
  // Threads polling completion queues (kCompletionQueue only). One thread drives ~40k requests/s
  // and uses the least CPU per request (docs/kvbench.md), which matters when the server shares
  // the machine.
  int threads = 1;
  // Deadline of every request.
  absl::Duration timeout = absl::Seconds(5);
  // How long to wait for every connection to be established before starting.
  absl::Duration connect_timeout = absl::Seconds(10);
  // TLS of the channels and the bearer token of every request (plain, none by default).
  tls::ClientChannelSecurity security;
};

struct LoadOptions {
  ConnectionOptions connection;
  Workload workload = Workload::kRead;
  // Fraction of Gets in kMixed.
  double read_ratio = 0.9;
  // Keys per BatchGet in kBatch (1..100).
  int batch_size = 10;
  KeySpaceOptions keys;
  // Bytes of every written value.
  uint64_t value_size = 100;
  // Write every key once before measuring.
  bool preload = false;
  // Measure for this long...
  absl::Duration duration = absl::Seconds(10);
  // ...or, when > 0, until this many operations completed in the measured phase.
  uint64_t ops = 0;
  // Load applied before measuring; its operations are not counted.
  absl::Duration warmup = absl::Seconds(1);
  // Read options sent with every Get and BatchGet.
  kvstore::v1::ReadOptions read_options;
  // Seed of every random choice (keys, op mix, values); slot i uses seed + i.
  uint64_t seed = 1;
  // Progress lines on stderr while running (every progress_interval).
  bool progress = true;
  absl::Duration progress_interval = absl::Seconds(1);
};

}  // namespace kv::kvbench
