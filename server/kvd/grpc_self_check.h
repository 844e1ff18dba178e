#pragma once
// The readiness self-check: proves every second that the node's own gRPC port still accepts
// connections and answers calls, so readiness (/readyz, kv_ready, Admin.Status) turns false
// when it does not and an orchestrator replaces the node. gRPC 1.51's listener can stop
// accepting for good (one accept4 failing with EMFILE) while every call on connections already
// open, and the HTTP gateway, still work: only a new connection shows it.
//
// Each check opens a fresh connection (its own subchannel pool; a connection kept open would
// hide a dead listener), with the node's own TLS credentials when it serves TLS, and calls a
// method no service implements: UNIMPLEMENTED comes from the server's gRPC core, before any
// service or token check, so the check needs no token under --auth required, touches no node
// state and logs no refusals. Any answer from the server proves the port works; UNAVAILABLE
// (refused, reset, TLS handshake failed) or DEADLINE_EXCEEDED does not.
//
// Threading: Start() and Stop() from the owning thread; Ready() and the counters from any
// thread. The checks run on a PeriodicTask's thread. Ownership: plain values; the credentials
// are shared.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/periodic_task.h"
#include "server/node/forwarding_node.h"

namespace kv::server {

struct SelfCheckOptions {
  // How to reach it: the node's own TLS credentials, or insecure ones.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // TLS: a name the node's certificate carries, checked instead of the address's host (empty =
  // the host).
  std::string server_name;
  // How often the port is checked, and how long one check may take.
  absl::Duration interval = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(2);
  // Appended to a failure's reason when it returns something (e.g. connections at the cap).
  std::function<std::string()> context;
};

class GrpcSelfCheck {
 public:
  explicit GrpcSelfCheck(SelfCheckOptions options);
  ~GrpcSelfCheck();
  GrpcSelfCheck(const GrpcSelfCheck&) = delete;
  GrpcSelfCheck& operator=(const GrpcSelfCheck&) = delete;

  // Checks the port `address` is bound to (HOST:PORT; a wildcard host is reached on loopback)
  // once now, so readiness is known when it returns, then every interval until Stop(). Until
  // then Ready() is true: nothing has failed yet.
  void Start(const std::string& address);
  // Stops checking; the latest result stays. Idempotent.
  void Stop();

  // True when the latest check got an answer from the port; otherwise why not.
  bool Ready(std::string* why_not) const;
  // Checks that failed, since the start.
  uint64_t failures() const;

  // One check over a fresh connection: OK when the server answered (with any status).
  absl::Status CheckOnce() const;

 private:
  void RunCheck();

  const SelfCheckOptions options_;
  std::string target_;  // set by Start() before the checking thread exists
  mutable absl::Mutex mu_;
  std::string failure_ ABSL_GUARDED_BY(mu_);  // empty = the latest check passed
  uint64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<PeriodicTask> task_;
};

// The node as readiness and Admin.Status see it: not ready while the self-check fails, and
// Status carries the reason. Everything else goes straight to `node`. Threading and ownership:
// as `node`; `node` and `check` must outlive this.
class SelfCheckedNode final : public ForwardingNode {
 public:
  SelfCheckedNode(Node* node, const GrpcSelfCheck* check) : ForwardingNode(node), check_(check) {}

  void GetStatus(kvstore::v1::StatusResponse* status) override;
  bool Ready(std::string* why_not) override;

 private:
  const GrpcSelfCheck* const check_;
};

}  // namespace kv::server
