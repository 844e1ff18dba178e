#pragma once
// The Client behind kv/client.h: routing, deadlines, retries and the session.
// Thread-safe: endpoints and the session are shared by every call; it owns its channels.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/endpoints.h"
#include "common/clock.h"
#include "kv/client.h"
#include "kvstore/v1/admin.pb.h"

namespace kv::client {

class ClientImpl final : public Client {
 public:
  // `security`: TLS credentials and the bearer token, from ClientOptions (Client::Create).
  explicit ClientImpl(const ClientOptions& options, Clock* clock = Clock::Real(),
                      tls::ClientChannelSecurity security = tls::ClientChannelSecurity());

  // Admin.Status of one node as the full proto (for kvctl, through client/admin_status.h).
  absl::StatusOr<kvstore::v1::StatusResponse> StatusProto(absl::string_view endpoint,
                                                          absl::Duration timeout);

  // Admin.SetKeySet at the write endpoint (for `kvctl auth set-keys`). Retried: replacing the key
  // set with the same document twice leaves the same set.
  absl::StatusOr<kvstore::v1::SetKeySetResponse> SetKeySet(const std::string& jwks,
                                                           absl::Duration timeout);

  // Admin.Backup at the write endpoint (for `kvctl admin backup`): one attempt, no retries.
  absl::StatusOr<kvstore::v1::BackupResponse> Backup(const std::string& dest,
                                                     absl::Duration timeout);

  // Raises the session to at least v.
  void ObserveVersion(uint64_t v);
  // The read endpoints in use (for tests).
  EndpointSet& read_endpoints() { return reads_; }
  Endpoint& write_endpoint() { return *write_; }
  const ClientOptions& options() const { return options_; }
  // Adds the caller's credentials (the bearer token) to a call.
  void Authorize(grpc::ClientContext* context) const { security_.Authorize(context); }

 protected:
  absl::StatusOr<GetResult> DoGet(absl::string_view key, const ReadOptions& options) override;
  absl::StatusOr<BatchGetResult> DoBatchGet(const std::vector<std::string>& keys,
                                            const ReadOptions& options) override;
  absl::StatusOr<ListResult> DoList(const ListOptions& list, const ReadOptions& options) override;
  absl::StatusOr<PutResult> DoPut(absl::string_view key, absl::string_view value,
                                  const PutOptions& options) override;
  absl::StatusOr<DeleteResult> DoDelete(absl::string_view key,
                                        const DeleteOptions& options) override;
  absl::StatusOr<CommitResult> DoCommit(const std::vector<CommitCheck>& checks,
                                        const std::vector<CommitMutation>& mutations,
                                        const CommitOptions& options) override;
  std::unique_ptr<BulkWriter> DoNewBulkWriter(const BulkOptions& options) override;
  absl::StatusOr<NodeStatus> DoStatus(absl::string_view endpoint, absl::Duration timeout) override;
  std::unique_ptr<Watch> DoWatch(const WatchOptions& options,
                                 absl::AnyInvocable<void(const WatchUpdate&)> on_update) override;
  uint64_t DoSessionVersion() const override { return session_.load(); }
  void DoSetSessionVersion(uint64_t v) override { session_.store(v); }

 private:
  // One attempt against one endpoint, with a context whose deadline is already set.
  using Attempt = std::function<grpc::Status(Endpoint&, grpc::ClientContext&)>;

  // Runs an idempotent call over `endpoints` with failover, backoff and the deadline;
  // `answered_by` gets the address that answered.
  // With `set` the endpoints come from it (healthy first) and their health is updated; without,
  // only `single` is tried.
  absl::Status CallWithRetries(EndpointSet* set, Endpoint* single, absl::Duration timeout,
                               const Attempt& attempt, std::string* answered_by);
  // The endpoint for Status(address): an existing channel if there is one.
  Endpoint* AdminEndpoint(const std::string& address);
  // min_version for a read: the caller's, raised to the session when the session applies.
  uint64_t MinVersionFor(const ReadOptions& options) const;
  bool SessionApplies(const ReadOptions& options) const;
  absl::Time DeadlineFor(absl::Duration timeout) const;
  // One attempt of a write at the write endpoint (never retried): connects first, so a deadline
  // that passes before the connection is known to be harmless; a failure after sending may be an
  // unknown outcome. Observes the response's version in the session.
  template <typename Request, typename Response>
  absl::Status Write(const Request& request, Response* response, absl::Duration timeout,
                     grpc::Status (kvstore::v1::KV::Stub::*rpc)(grpc::ClientContext*,
                                                                const Request&, Response*));

  const ClientOptions options_;
  Clock* const clock_;
  const tls::ClientChannelSecurity security_;
  std::unique_ptr<Endpoint> write_;
  // Used by reads; when ClientOptions::read_endpoints is empty it holds the write endpoint.
  EndpointSet reads_;
  std::atomic<uint64_t> session_{0};

  absl::Mutex admin_mu_;
  // Channels for Status() of endpoints that are neither the write nor a read endpoint.
  std::map<std::string, std::unique_ptr<Endpoint>> admin_endpoints_ ABSL_GUARDED_BY(admin_mu_);
};

}  // namespace kv::client
