#pragma once
// A small synchronous client of etcd's v3 gRPC API (leases, keys, transactions and the election
// service), for the central nodes' leader election and fencing (docs/ha.md). It speaks etcd's own
// protocol, compiled from the .proto files Debian ships; nothing here is a consensus of our own.
//
// Endpoints: one gRPC channel over every endpoint ("ipv4:a:p,b:q", pick-first), so a dead etcd
// member is skipped by gRPC itself. Every call has a deadline (EtcdOptions::timeout, or the one
// given); errors are absl::Status values naming etcd and the call.
//
// Threading: thread-safe (gRPC stubs are). Ownership: owns its channel.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kv::ha {

struct EtcdOptions {
  // host:port of etcd members' client URLs (plain text; TLS to etcd is future work).
  std::vector<std::string> endpoints;
  // Deadline of a call that does not name its own.
  absl::Duration timeout = absl::Seconds(2);
};

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

// An elected leader's key in the election service (name, key, revision and lease).
struct LeaderKey {
  std::string name;
  std::string key;
  int64_t revision = 0;
  int64_t lease = 0;
};

// One condition of a transaction: `key`'s create or mod revision equals `revision` (0 = the key
// does not exist).
struct EtcdCompare {
  enum class Target { kCreateRevision, kModRevision };
  std::string key;
  Target target = Target::kModRevision;
  int64_t revision = 0;
};

// One put of a transaction (`lease` 0 = none).
struct EtcdPut {
  std::string key;
  std::string value;
  int64_t lease = 0;
};

class EtcdClient {
 public:
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Connect(const EtcdOptions& options);
  ~EtcdClient();

  // --- Leases -------------------------------------------------------------------------------
  // A new lease of `ttl` (whole seconds, at least 1); its id.
  absl::StatusOr<int64_t> GrantLease(absl::Duration ttl);
  // One keep-alive round trip; the TTL etcd says is left after it. NOT_FOUND when the lease has
  // expired or was revoked.
  absl::StatusOr<absl::Duration> KeepAliveOnce(int64_t lease);
  absl::Status RevokeLease(int64_t lease);

  // --- Keys ---------------------------------------------------------------------------------
  absl::StatusOr<std::optional<EtcdKeyValue>> Get(const std::string& key);
  // Every key with `prefix`, in key order.
  absl::StatusOr<std::vector<EtcdKeyValue>> GetPrefix(const std::string& prefix);
  // Puts key = value (attached to `lease`, 0 = none) only if the key's mod revision is
  // `expected_mod_revision` (0 = only if absent). Returns whether it was put.
  absl::StatusOr<bool> PutIf(const std::string& key, const std::string& value,
                             int64_t expected_mod_revision, int64_t lease = 0);
  absl::Status Delete(const std::string& key);
  // Every put, if every comparison holds (all or nothing, at one etcd revision). Returns whether
  // it was applied.
  absl::StatusOr<bool> Txn(const std::vector<EtcdCompare>& compares,
                           const std::vector<EtcdPut>& puts);

  // --- Election (etcd's v3election service) -------------------------------------------------
  // Blocks until this candidate, holding `lease`, leads election `name` (or `timeout` passes:
  // DEADLINE_EXCEEDED). `value` is what observers see as the leader's value.
  absl::StatusOr<LeaderKey> Campaign(const std::string& name, const std::string& value,
                                     int64_t lease, absl::Duration timeout);
  // The current leader's key and value, or nullopt when nobody leads.
  absl::StatusOr<std::optional<EtcdKeyValue>> Leader(const std::string& name);
  // Updates the leader's value (FAILED_PRECONDITION when `leader` no longer leads).
  absl::Status Proclaim(const LeaderKey& leader, const std::string& value);
  absl::Status Resign(const LeaderKey& leader);

 private:
  struct Stubs;
  explicit EtcdClient(const EtcdOptions& options, std::unique_ptr<Stubs> stubs);

  const EtcdOptions options_;
  const std::unique_ptr<Stubs> stubs_;
};

}  // namespace kv::ha
