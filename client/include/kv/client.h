#pragma once
// The kvstore C++ client: one write endpoint (the central node, or any node that forwards
// writes), an ordered list of read endpoints (nearest first), deadlines on every call, retries
// with jittered backoff for idempotent calls, and a session that carries the highest version this
// client has seen into its next reads (read-your-writes and monotonic reads across edges).
//
//   kv::client::ClientOptions options;
//   options.write_endpoint = "central.example:7000";
//   options.read_endpoints = {"edge-local:7000", "edge-region:7000"};
//   auto client = kv::client::Client::Create(options);
//   if (!client.ok()) ...
//   auto put = (*client)->Put("flags/checkout", "on");
//   auto got = (*client)->Get("flags/checkout");  // sees the put, from the nearest edge
//
// Threading and ownership: a Client is thread-safe; share one per process. A BulkWriter belongs
// to the Client that made it and must not outlive it. Keys, values and metadata are bytes.
// Errors are absl::Status values carrying the gRPC code and the server's message. A failed write
// whose outcome is unknown (it may have been applied) is marked: see IsOutcomeUnknown().
//
// This header depends on abseil only: no gRPC or generated protobuf types.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kv::client {

// Retries of idempotent calls (Get, BatchGet, List, Status). Writes are never retried.
// Retried codes: UNAVAILABLE, DEADLINE_EXCEEDED of one attempt when the overall deadline has
// time left, and RESOURCE_EXHAUSTED raised by the transport (not by the server's limits).
struct RetryPolicy {
  // Rounds over the read endpoints, including the first; 1 disables retries.
  int max_attempts = 4;
  // Sleep before the second round; doubles every round up to max_backoff.
  absl::Duration initial_backoff = absl::Milliseconds(25);
  absl::Duration max_backoff = absl::Seconds(1);
  // Each sleep is multiplied by a random factor in [1 - jitter, 1 + jitter].
  double jitter = 0.2;
  // Deadline of one attempt; ZeroDuration() = whatever is left of the call's deadline.
  absl::Duration per_attempt_timeout = absl::ZeroDuration();
};

// TLS towards the nodes (docs/security.md, "TLS"). Files are read and checked by
// Client::Create, which fails with INVALID_ARGUMENT naming a file that is unreadable, or a client
// key that does not belong to its certificate.
struct ClientTlsOptions {
  // Speak TLS. Implied by ca_file or cert_file; alone, servers are verified against the
  // system's root certificates.
  bool enabled = false;
  // PEM file of the CA that signed the nodes' certificates.
  std::string ca_file;
  // This client's certificate chain and key (PEM), for nodes that require client
  // certificates (--tls-client-certs require).
  std::string cert_file;
  std::string key_file;
  // The name the nodes' certificates must carry instead of the endpoint's host; for endpoints
  // given as IP addresses that the certificates do not list.
  std::string server_name;
};

struct ClientOptions {
  // Where Put and Delete go: the central node, or an edge that forwards writes.
  std::string write_endpoint = "127.0.0.1:7000";
  // Where reads go, nearest first. Empty = read from write_endpoint.
  std::vector<std::string> read_endpoints;
  // Deadline of a call that does not set its own, including all retries.
  absl::Duration timeout = absl::Seconds(5);
  RetryPolicy retry;
  // An endpoint that failed (UNAVAILABLE, connection refused, attempt timed out) is skipped for
  // this long, then tried again. If every endpoint is cooling down, they are tried anyway.
  absl::Duration endpoint_cooldown = absl::Seconds(2);
  // Sessions on by default: reads carry min_version = the highest version seen (see Client).
  bool session = true;
  // gRPC send/receive message limit. Must be >= 26 MiB: values can be 25 MiB plus framing.
  int max_message_bytes = 32 << 20;
  // TLS for every endpoint; plain text by default.
  ClientTlsOptions tls;
  // A bearer token sent as `authorization: Bearer <token>` metadata on every call (over TLS or
  // plain text); empty = none.
  std::string bearer_token;
};

enum class Consistency {
  // The nearest node that is fresh within max_staleness answers.
  kBounded,
  // Forwarded to the central node.
  kStrong,
};

// Where an answer came from (mirrors kvstore.v1.Source; kLocalReplica is a LocalReplica's own
// answer, kv/local_replica.h, which never travels on the wire).
enum class Source { kUnknown, kCentral, kEdgeStore, kEdgeCache, kUpstream, kLocalReplica };

// "central", "edge-store", "edge-cache", "upstream", "local-replica", "unknown".
const char* SourceName(Source source);

struct ReadOptions {
  Consistency consistency = Consistency::kBounded;
  // Largest staleness accepted; ZeroDuration() = the node's --max-staleness.
  absl::Duration max_staleness = absl::ZeroDuration();
  // The answer reflects at least this version. Combined (max) with the session version.
  uint64_t min_version = 0;
  // When no node within the bound can answer, accept a stale local copy (labelled stale).
  bool allow_stale = false;
  // Send the session version as min_version and update it from the answer. Ignored when
  // ClientOptions::session is false.
  bool use_session = true;
  // Deadline of this call including retries; ZeroDuration() = ClientOptions::timeout.
  absl::Duration timeout = absl::ZeroDuration();
};

// How fresh a read answer is, and who gave it.
struct ReadInfo {
  // Staleness of the answering node: every write committed at the central node more than this
  // long before the answer is reflected. Zero at the central node.
  absl::Duration staleness = absl::ZeroDuration();
  Source source = Source::kUnknown;
  // The answer reflects every write up to this version.
  uint64_t as_of_version = 0;
  // Node id of the answering node.
  std::string node_id;
  // True when served beyond the staleness bound because allow_stale was set.
  bool stale = false;
  // The endpoint (host:port from ClientOptions) that answered.
  std::string endpoint;
};

// One key as stored.
struct Entry {
  std::string key;
  // Empty when not requested (List without include_values) or not found.
  std::string value;
  std::string metadata;
  // Version of the write that produced this entry.
  uint64_t version = 0;
  // Absolute expiration, Unix seconds; 0 = never.
  int64_t expiration = 0;
};

struct GetResult {
  bool found = false;
  // Valid when found: value, metadata, version, expiration (and key).
  Entry entry;
  ReadInfo info;
};

struct BatchGetResult {
  struct Item {
    bool found = false;
    Entry entry;
    Source source = Source::kUnknown;
  };
  // One item per requested key, in request order.
  std::vector<Item> items;
  ReadInfo info;
};

struct ListOptions {
  // Only keys starting with this prefix.
  std::string prefix;
  // Opaque cursor from a previous ListResult::next_cursor; empty = from the start.
  std::string cursor;
  // 1..1000; 0 = the server's default (100).
  uint32_t limit = 0;
  // Return values too (otherwise only key, version, metadata and expiration).
  bool include_values = false;
};

struct ListResult {
  std::vector<Entry> entries;
  // Empty when the listing is complete; otherwise pass as ListOptions::cursor.
  std::string next_cursor;
  ReadInfo info;
};

struct PutOptions {
  // Opaque bytes stored beside the value, up to 1024 bytes.
  std::string metadata;
  // Time to live (whole seconds, >= 1 s), converted to an absolute time at the central node.
  // ZeroDuration() = no TTL. At most one of ttl and expiration.
  absl::Duration ttl = absl::ZeroDuration();
  // Absolute expiration, Unix seconds; 0 = never.
  int64_t expiration = 0;
  // Conditional write: only if the key's current version equals this; 0 = only if absent.
  // A lost condition fails with FAILED_PRECONDITION and writes nothing.
  std::optional<uint64_t> if_version;
  // Deadline of this call; ZeroDuration() = ClientOptions::timeout. Writes are not retried.
  absl::Duration timeout = absl::ZeroDuration();
};

struct PutResult {
  // The version the write was committed at.
  uint64_t version = 0;
  // The absolute expiration stored, 0 = never.
  int64_t expiration = 0;
};

struct DeleteOptions {
  // Conditional delete: only if the key's current version equals this.
  std::optional<uint64_t> if_version;
  // Deadline of this call; ZeroDuration() = ClientOptions::timeout.
  absl::Duration timeout = absl::ZeroDuration();
};

struct DeleteResult {
  // True when the key existed and was deleted.
  bool deleted = false;
  // The version of the deletion; when nothing was deleted, the head version it was judged at.
  uint64_t version = 0;
};

// One condition of a Commit on a key's current state.
struct CommitCheck {
  std::string key;
  // The key must exist at exactly this version; nullopt = it must not exist.
  std::optional<uint64_t> version;

  static CommitCheck AtVersion(std::string key, uint64_t version) {
    return {std::move(key), version};
  }
  static CommitCheck Absent(std::string key) { return {std::move(key), std::nullopt}; }
};

// One change of a Commit. Every mutation of a commit names a different key.
struct CommitMutation {
  enum class Kind {
    // Sets value and `put` options (metadata, ttl or expiration; if_version is not allowed: a
    // commit states its conditions as checks).
    kPut,
    // Removes the key (deleting an absent key changes nothing).
    kDelete,
    // Adds `delta` to a little-endian 64-bit counter; an absent key counts as 0, and a value
    // that is not 8 bytes fails the commit with FAILED_PRECONDITION.
    kAdd,
  };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;
  PutOptions put;
  int64_t delta = 0;

  static CommitMutation Put(std::string key, std::string value, PutOptions options = {}) {
    CommitMutation m;
    m.key = std::move(key);
    m.value = std::move(value);
    m.put = std::move(options);
    return m;
  }
  static CommitMutation Delete(std::string key) {
    CommitMutation m;
    m.kind = Kind::kDelete;
    m.key = std::move(key);
    return m;
  }
  static CommitMutation Add(std::string key, int64_t delta) {
    CommitMutation m;
    m.kind = Kind::kAdd;
    m.key = std::move(key);
    m.delta = delta;
    return m;
  }
};

struct CommitOptions {
  // Deadline of this call; ZeroDuration() = ClientOptions::timeout. Never retried.
  absl::Duration timeout = absl::ZeroDuration();
};

struct CommitResult {
  // The version every mutation took effect at (the head it was judged at, when it changed
  // nothing: only deletes of absent keys).
  uint64_t version = 0;
  // The new value of each kAdd counter, in the order of the mutations.
  std::vector<int64_t> counters;
};

// Little-endian 64-bit counters, as kAdd keeps them: the value to put, and the value read back
// (nullopt when the value is not 8 bytes).
std::string EncodeCounter(int64_t value);
std::optional<int64_t> DecodeCounter(absl::string_view value);

// True when a write (Put, Delete, or a BulkWriter Put) failed in a way that leaves its outcome
// unknown: the request may have reached the central node and been committed, but no answer came
// back (the connection broke after the request was sent, the deadline passed, the server failed
// mid-call with INTERNAL or UNKNOWN, ...). The status keeps the gRPC code and message; the mark
// is a payload, so `status.ToString()` reads "... [kv.client.OutcomeUnknown='the write may have
// been applied']". Find out with a strong read of the key, or retry with `if_version`.
// False for every other status: a write that failed without this mark was not applied (the
// server rejected it, or it could not be sent at all). Reads are never marked.
bool IsOutcomeUnknown(const absl::Status& status);

// Returns `status` (not OK) marked as an unknown outcome; for test doubles of Client.
absl::Status MarkOutcomeUnknown(absl::Status status);

// What Client::Status() reports about one node: a digest of its Admin.Status for programs.
// (kvctl status shows every field, including downstreams and cache statistics.)
struct NodeStatus {
  // The address that answered, as given to Status() (the write endpoint when empty).
  std::string endpoint;
  // "central" or "edge".
  std::string role;
  // An edge's mode: "full" or "cache". Empty for the central node.
  std::string mode;
  std::string node_id;
  std::string cluster_id;
  // The node's build ("0.1.0+gabc123").
  std::string build_version;
  absl::Duration uptime = absl::ZeroDuration();
  // The node's readiness as GET /readyz reports it (an edge: synced, within --max-staleness).
  bool ready = false;
  // Central: the last committed version. Edge: the last applied version.
  uint64_t head_version = 0;
  // Oldest version still in the node's change log; 0 when the log is empty.
  uint64_t oldest_log_version = 0;
  // Keys held (full nodes: RocksDB's estimate; cache edges: cached entries).
  uint64_t key_count = 0;
  // Edge only: the node it follows and whether its replication stream is connected.
  std::string upstream;
  bool upstream_connected = false;
  // Every write committed at the central node more than this long ago is reflected. Zero at the
  // central node; InfiniteDuration() for an edge that has never synced.
  absl::Duration staleness = absl::ZeroDuration();
  // Edge only: its default read bound (--max-staleness).
  absl::Duration max_staleness = absl::ZeroDuration();
};

// Many Puts in flight at once over the callback API, for bulk loads. Add() blocks while
// `window` puts are in flight, and while a put of the same key is in flight (so later lines for
// a key win, as if written one by one). Each put's outcome is reported through its own callback,
// on a gRPC thread; callbacks must be quick and thread-safe and must not call Add(). A failed
// put may be marked IsOutcomeUnknown(). Not retried, like every write. Add, Flush and InFlight
// may be called from any thread. A writer must not outlive the Client that made it.
class BulkWriter {
 public:
  using Callback = absl::AnyInvocable<void(absl::StatusOr<PutResult>)>;
  virtual ~BulkWriter() = default;  // Waits for every put in flight.

  virtual void Add(std::string key, std::string value, PutOptions options, Callback done) = 0;
  // Waits until every put added so far has reported.
  virtual void Flush() = 0;
  // Puts started and not yet reported.
  virtual int InFlight() = 0;
};

// One change seen by a watch (docs/client.md, "Watch").
struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  std::string key;
  // kPut: the value, unless value_omitted.
  std::string value;
  std::string metadata;
  // Absolute expiration, Unix seconds; 0 = never.
  int64_t expiration = 0;
  // The version of the write; every event of one atomic commit has the same version.
  uint64_t version = 0;
  // kPut of a value larger than the node's --push-value-limit: not carried by the stream. Read
  // it with Get(key, min_version = version), or set WatchOptions::fetch_omitted_values.
  bool value_omitted = false;
  uint64_t value_size = 0;
};

// What a watch delivers: the events of one or more whole versions in version order (all events
// of one commit are in one update), or none (a progress update while nothing changes).
struct WatchUpdate {
  std::vector<WatchEvent> events;
  // Every matching change up to this version has been delivered.
  uint64_t applied_version = 0;
  // The answering node's staleness when it sent this (zero at the central node).
  absl::Duration staleness = absl::ZeroDuration();
  std::string node_id;
  // The endpoint (host:port) the watch is connected to.
  std::string endpoint;
  // The watch had to start over from a re-read because the node no longer held the version to
  // resume from: `events` are puts of every key that exists now (as of applied_version), not
  // changes. Replace what you hold for the watched keys with them (keys you hold that are not
  // among them were deleted meanwhile).
  bool resync = false;
};

struct WatchOptions {
  // Every key starting with this, or (when `keys` is not empty) exactly these 1..100 keys.
  std::string prefix;
  std::vector<std::string> keys;
  // The first version to deliver; 0 = changes after the node's current version.
  uint64_t start_version = 0;
  // Progress updates while nothing changes; ZeroDuration() = the node's default (1 s).
  absl::Duration progress_interval = absl::ZeroDuration();
  // After a disconnect, the node shutting down, or the node ending a watcher that fell behind,
  // reconnect (to the read endpoints, nearest healthy first, with RetryPolicy's backoff) and
  // resume after the last delivered applied_version, without gaps or repeats.
  bool auto_resume = true;
  // When the node no longer holds the version to resume from (OUT_OF_RANGE), re-read the keys
  // (List or BatchGet), deliver them as one update with resync = true, and resume after the
  // version of that read. Off: the watch ends with the OUT_OF_RANGE status.
  bool resync_when_too_old = true;
  // Read omitted (large) values with Get before delivering their events.
  bool fetch_omitted_values = false;
};

// A running watch. Updates are delivered by its own thread, one at a time, in order; the callback
// must not block for long (the node ends watchers that fall too far behind; auto_resume then
// reconnects). Destroying it cancels the watch and waits for a callback in progress.
class Watch {
 public:
  virtual ~Watch() = default;
  // Stops the watch; Wait() then returns CANCELLED. Any thread; not from the callback.
  virtual void Cancel() = 0;
  // Blocks until the watch ends (an error that auto_resume does not retry, or Cancel).
  virtual absl::Status Wait() = 0;
};

struct BulkOptions {
  // Puts in flight at once.
  int window = 64;
};

// The client. The public calls are non-virtual (their default arguments live here, once); each
// forwards to a protected virtual Do* method that implementations, including test doubles,
// override.
class Client {
 public:
  // Checks the options (max_message_bytes >= 26 MiB, endpoints non-empty) and creates channels.
  // Connections are made lazily by the first call.
  static absl::StatusOr<std::unique_ptr<Client>> Create(const ClientOptions& options);

  Client() = default;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  virtual ~Client() = default;

  // Reads one key. Not found is not an error: GetResult::found is false.
  absl::StatusOr<GetResult> Get(absl::string_view key, const ReadOptions& options = {}) {
    return DoGet(key, options);
  }
  // Reads up to 100 keys with one set of options, from one node.
  absl::StatusOr<BatchGetResult> BatchGet(const std::vector<std::string>& keys,
                                          const ReadOptions& options = {}) {
    return DoBatchGet(keys, options);
  }
  // One page of keys in key order.
  absl::StatusOr<ListResult> List(const ListOptions& list, const ReadOptions& options = {}) {
    return DoList(list, options);
  }

  // Writes at the central node. Never retried. On failure, IsOutcomeUnknown(status) tells
  // whether the write may still have been applied.
  absl::StatusOr<PutResult> Put(absl::string_view key, absl::string_view value,
                                const PutOptions& options = {}) {
    return DoPut(key, value, options);
  }
  // Like Put: never retried, and a failure may be an unknown outcome.
  absl::StatusOr<DeleteResult> Delete(absl::string_view key, const DeleteOptions& options = {}) {
    return DoDelete(key, options);
  }

  // Applies `mutations` (1..1000 of different keys, at most 10 MiB) at one version if every
  // check holds, or nothing. A failed check is FAILED_PRECONDITION naming the key and its
  // current version. Never retried; a failure may be an unknown outcome (IsOutcomeUnknown).
  absl::StatusOr<CommitResult> Commit(const std::vector<CommitCheck>& checks,
                                      const std::vector<CommitMutation>& mutations,
                                      const CommitOptions& options = {}) {
    return DoCommit(checks, mutations, options);
  }

  // Pipelined puts to the write endpoint; see BulkWriter.
  std::unique_ptr<BulkWriter> NewBulkWriter(const BulkOptions& options = {}) {
    return DoNewBulkWriter(options);
  }

  // Watches a prefix or keys from the read endpoints; `on_update` runs on the watch's thread.
  // Errors that are not retried (PERMISSION_DENIED, INVALID_ARGUMENT, ...) end the watch: see
  // Watch::Wait().
  std::unique_ptr<Watch> StartWatch(const WatchOptions& options,
                                    absl::AnyInvocable<void(const WatchUpdate&)> on_update) {
    return DoWatch(options, std::move(on_update));
  }

  // The status of one node; empty endpoint = the write endpoint; ZeroDuration() timeout =
  // ClientOptions::timeout. Retried like a read.
  absl::StatusOr<NodeStatus> Status(absl::string_view endpoint = "",
                                    absl::Duration timeout = absl::ZeroDuration()) {
    return DoStatus(endpoint, timeout);
  }

  // The session: the highest version this client wrote, or read (the entry's version when
  // found, the answer's as_of_version when not found). Sent as min_version on reads.
  uint64_t session_version() const { return DoSessionVersion(); }
  // Carries a session over from elsewhere (e.g. another process): raises or lowers it to v.
  // SetSessionVersion(0) resets the session.
  void SetSessionVersion(uint64_t v) { DoSetSessionVersion(v); }

 protected:
  virtual absl::StatusOr<GetResult> DoGet(absl::string_view key, const ReadOptions& options) = 0;
  virtual absl::StatusOr<BatchGetResult> DoBatchGet(const std::vector<std::string>& keys,
                                                    const ReadOptions& options) = 0;
  virtual absl::StatusOr<ListResult> DoList(const ListOptions& list,
                                            const ReadOptions& options) = 0;
  virtual absl::StatusOr<PutResult> DoPut(absl::string_view key, absl::string_view value,
                                          const PutOptions& options) = 0;
  virtual absl::StatusOr<DeleteResult> DoDelete(absl::string_view key,
                                                const DeleteOptions& options) = 0;
  virtual absl::StatusOr<CommitResult> DoCommit(const std::vector<CommitCheck>& checks,
                                                const std::vector<CommitMutation>& mutations,
                                                const CommitOptions& options) = 0;
  virtual std::unique_ptr<BulkWriter> DoNewBulkWriter(const BulkOptions& options) = 0;
  virtual absl::StatusOr<NodeStatus> DoStatus(absl::string_view endpoint,
                                              absl::Duration timeout) = 0;
  // Default: a watch that ends at once with UNIMPLEMENTED (test doubles).
  virtual std::unique_ptr<Watch> DoWatch(const WatchOptions& options,
                                         absl::AnyInvocable<void(const WatchUpdate&)> on_update);
  virtual uint64_t DoSessionVersion() const = 0;
  virtual void DoSetSessionVersion(uint64_t v) = 0;
};

}  // namespace kv::client
