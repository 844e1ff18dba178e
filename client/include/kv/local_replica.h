#pragma once
// An edge inside the application: a LocalReplica follows an upstream (the central node or a full
// edge) over the replication stream, like an edge does, and answers Get, BatchGet and List inside
// the process, with the same freshness contract as an edge (docs/local-replica.md):
//
//   kv::client::LocalReplicaOptions options;
//   options.upstream = "edge-local:7000";     // or the central node
//   options.mode = kv::client::ReplicaMode::kFull;  // every key in memory
//   auto replica = kv::client::LocalReplica::Create(options);
//   if (!replica.ok()) ...
//   (*replica)->WaitUntilReady(absl::Seconds(10));
//   auto got = (*replica)->Get("flags/checkout");  // no network: microseconds
//
// Modes: kFull holds every key in memory (bootstrapped from a snapshot, then the stream);
// kCache holds the hottest keys within cache_bytes (W-TinyLFU), reads cold keys through from
// the upstream once per key however many threads ask, and keeps what it holds coherent with the
// stream.
//
// Reads follow the edge's rule (server/edge/read_route.h): a strong read goes upstream; a read
// whose bound the replica's staleness exceeds goes upstream (and, when the upstream is
// unreachable, fails with UNAVAILABLE, or is answered from the local copy labelled stale when
// allow_stale is set); a read with a min_version the replica has not applied waits up to
// min_version_wait for the stream, then goes upstream; everything else is answered here, with
// ReadInfo.source = kLocalReplica and the replica's staleness and applied version. Puts,
// Deletes and Commits go to the upstream (which forwards them to the central node).
//
// Credentials: the upstream serves the replication stream only to callers with the `replicate`
// scope or a client certificate from the cluster CA (docs/security.md), since a replica holds
// the data it is sent; writes through the replica need `write:` scopes as usual.
//
// Threading and ownership: thread-safe; reads do not take any lock shared by all readers (the
// full copy is sharded, each shard under its own reader-writer lock). One replica per process
// and upstream; it owns a background thread (the subscriber) and gRPC channels. The destructor
// stops it. This header depends on abseil and kv/client.h only.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/client.h"

namespace kv::client {

enum class ReplicaMode {
  // Every key in memory.
  kFull,
  // The hottest keys within cache_bytes; cold keys are read through.
  kCache,
};

struct LocalReplicaOptions {
  // The node to follow: the central node, or a full edge. host:port.
  std::string upstream = "127.0.0.1:7000";
  ReplicaMode mode = ReplicaMode::kFull;
  // kCache: memory for cached keys, values and their overhead.
  uint64_t cache_bytes = 64ull << 20;
  // The default bound of a read that sets no max_staleness (an edge's --max-staleness).
  absl::Duration max_staleness = absl::Seconds(5);
  // How long a read with an unmet min_version waits for the stream before going upstream.
  absl::Duration min_version_wait = absl::Milliseconds(200);
  // How often to ping the upstream: the resolution of the staleness estimate.
  absl::Duration ping_interval = absl::Milliseconds(50);
  // Deadline of calls to the upstream (forwarded reads, writes, cold reads).
  absl::Duration timeout = absl::Seconds(5);
  // Shown in the upstream's status and in every answer's ReadInfo.node_id; empty =
  // "replica-<hostname>-<pid>".
  std::string node_id;
  // TLS and a bearer token towards the upstream, as for the Client.
  ClientTlsOptions tls;
  std::string bearer_token;
  // gRPC receive limit (a snapshot chunk or a value); >= 26 MiB.
  int max_message_bytes = 32 << 20;
};

// What the replica holds and how it follows.
struct ReplicaStatus {
  ReplicaMode mode = ReplicaMode::kFull;
  std::string node_id;
  // "waiting", "snapshotting", "streaming", "backoff", "stopped".
  std::string state;
  bool connected = false;
  // Why the last connection ended, "" while streaming.
  std::string last_error;
  // The version the local data holds (full) or follows (cache).
  uint64_t applied_version = 0;
  // InfiniteDuration() before the first sync.
  absl::Duration staleness = absl::InfiniteDuration();
  // Full: keys held and the bytes of their keys, metadata and values. Cache: entries cached and
  // the bytes charged for them.
  uint64_t keys = 0;
  uint64_t bytes = 0;
  // Times the replica bootstrapped from a snapshot, and checksum mismatches found.
  uint64_t snapshots = 0;
  uint64_t checksum_mismatches = 0;
  // Cache mode: hits, misses and fetches from the upstream.
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t upstream_fetches = 0;
};

class LocalReplica {
 public:
  // Checks the options, opens the channels and starts following the upstream in the background.
  // Reads work at once (going upstream until the replica is in sync).
  static absl::StatusOr<std::unique_ptr<LocalReplica>> Create(const LocalReplicaOptions& options);

  LocalReplica() = default;
  LocalReplica(const LocalReplica&) = delete;
  LocalReplica& operator=(const LocalReplica&) = delete;
  // Stops following; calls in flight finish first.
  virtual ~LocalReplica() = default;

  // Waits until the replica can answer reads locally within its default bound (full: the
  // snapshot is installed; both: the staleness is known and within max_staleness).
  // DEADLINE_EXCEEDED with the replica's state and last error otherwise.
  virtual absl::Status WaitUntilReady(absl::Duration timeout) = 0;

  // Reads, with the semantics of Client's (ReadOptions::use_session is ignored: the replica has
  // no session of its own; pass min_version).
  virtual absl::StatusOr<GetResult> Get(absl::string_view key, const ReadOptions& options = {}) = 0;
  virtual absl::StatusOr<BatchGetResult> BatchGet(const std::vector<std::string>& keys,
                                                  const ReadOptions& options = {}) = 0;
  virtual absl::StatusOr<ListResult> List(const ListOptions& list,
                                          const ReadOptions& options = {}) = 0;

  // Writes at the central node, through the upstream. Never retried.
  virtual absl::StatusOr<PutResult> Put(absl::string_view key, absl::string_view value,
                                        const PutOptions& options = {}) = 0;
  virtual absl::StatusOr<DeleteResult> Delete(absl::string_view key,
                                              const DeleteOptions& options = {}) = 0;
  // An atomic commit (Client::Commit), through the upstream; the replica then applies it whole.
  virtual absl::StatusOr<CommitResult> Commit(const std::vector<CommitCheck>& checks,
                                              const std::vector<CommitMutation>& mutations,
                                              const CommitOptions& options = {}) = 0;

  virtual ReplicaStatus Status() const = 0;
};

}  // namespace kv::client
