#pragma once
// A real gRPC server on 127.0.0.1:<free port> running a fake KV + Admin service: a std::map, a
// version counter, and hooks to fail or delay calls and to record what clients sent. For the
// client library and kvctl tests; not a model of kvd's semantics beyond the basics.
// Thread-safe: the hooks may be set while calls are served (state under one mutex).

#include <grpcpp/server.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kvstore/v1/admin.pb.h"
#include "kvstore/v1/kv.pb.h"

namespace kv::client::testing {

enum class Method { kGet, kBatchGet, kPut, kDelete, kList, kStatus, kCount };

class FakeKvServer {
 public:
  explicit FakeKvServer(std::string node_id = "fake");
  ~FakeKvServer();

  // Binds 127.0.0.1:0 and starts serving.
  absl::Status Start();
  void Stop();
  std::string address() const;
  int port() const { return port_; }
  const std::string& node_id() const { return node_id_; }

  // The next `count` calls of `method` fail with `code` (count < 0: every call from now on).
  void FailNext(Method method, int count, grpc::StatusCode code, std::string message = "injected");
  // The next `count` Puts or Deletes (`method`) are applied, then sleep `delay` (a cancelled
  // call stops sleeping) and fail with `code`: a node that committed the write but whose answer
  // was lost. Other methods ignore it.
  void FailAfterApplyNext(Method method, int count, grpc::StatusCode code,
                          std::string message = "injected after apply",
                          absl::Duration delay = absl::ZeroDuration());
  // The next `count` calls of `method` sleep `delay` before answering (bounded by the caller's
  // deadline: a cancelled call stops sleeping).
  void DelayNext(Method method, int count, absl::Duration delay);
  // Every Put sleeps this long (to make pipelined puts overlap).
  void SetPutDelay(absl::Duration delay);
  // Reads answer with this as_of_version instead of the head version (0 = head).
  void SetAsOfVersion(uint64_t v);
  void SetStatus(const kvstore::v1::StatusResponse& status);

  // Calls that reached the service (including failed ones).
  int calls(Method method);
  // min_version of every read request received, in arrival order.
  std::vector<uint64_t> min_versions();
  // Last read options received.
  kvstore::v1::ReadOptions last_read_options();
  // The `authorization` metadata of every call that reached the service ("" when absent), in
  // arrival order.
  std::vector<std::string> authorizations();
  // The most Puts that were being served at the same time.
  int max_concurrent_puts();
  uint64_t head_version();
  // Direct access to the data, for test setup and checks.
  void Insert(const std::string& key, const std::string& value, const std::string& metadata = "");
  bool Lookup(const std::string& key, kvstore::v1::Entry* out);

  // Used by the services (see fake_kv_server.cc).
  struct State;
  class KvService;
  class AdminService;

 private:
  const std::string node_id_;
  int port_ = 0;
  std::unique_ptr<State> state_;
  std::unique_ptr<KvService> kv_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<grpc::Server> server_;
};

// A 127.0.0.1 port that refuses connections: bound but never listening, for as long as the
// object lives.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  int port() const { return port_; }
  std::string address() const;

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A 127.0.0.1 port that listens but never accepts: the kernel completes connections, and no
// HTTP/2 answer ever comes, like a frozen node. gRPC never considers the connection ready.
class SilentPort {
 public:
  SilentPort();
  ~SilentPort();
  int port() const { return port_; }
  std::string address() const;

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace kv::client::testing
