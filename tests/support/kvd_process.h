#pragma once
// Starts a real `kvd` process for integration tests, waits until it serves, and stops or kills
// it. Its stderr goes to a log file that is printed when a test fails, so failures explain
// themselves.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls/client_channel.h"
#include "kvstore/v1/admin.grpc.pb.h"
#include "kvstore/v1/kv.grpc.pb.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "tests/support/wait_for.h"

namespace kv::testing {

// Path of the kvd binary under test (compiled in by CMake).
std::string KvdPath();
// Path of the kvctl binary under test.
std::string KvctlPath();

class KvdProcess {
 public:
  // `args` follow the binary name, e.g. {"central", "--data-dir", dir}. "--listen 127.0.0.1:0"
  // and "--ready-file" are added unless `args` already name a listen address.
  KvdProcess(std::string name, std::vector<std::string> args, std::string work_dir);
  ~KvdProcess();
  KvdProcess(const KvdProcess&) = delete;
  KvdProcess& operator=(const KvdProcess&) = delete;

  // Starts the process and waits until it serves (its ready file appears) or `timeout`.
  absl::Status Start(absl::Duration timeout = absl::Seconds(30));
  // SIGTERM, then waits for a clean exit; returns the exit status (or -signal).
  int Stop(absl::Duration timeout = absl::Seconds(20));
  // SIGKILL, no goodbye.
  void Kill();
  // SIGSTOP / SIGCONT: freeze and thaw the process (a hung node).
  void Pause();
  void Resume();
  // Sends `signal` (e.g. SIGHUP: reload the TLS files).
  void Signal(int signal);
  bool running() const { return pid_ > 0; }
  // The process id while running (to read /proc/PID), -1 otherwise.
  pid_t pid() const { return pid_; }

  // "127.0.0.1:PORT" the node serves gRPC on (stable across restarts: the first start picks a
  // free port and later starts reuse it).
  const std::string& address() const { return address_; }
  const std::string& http_address() const { return http_address_; }
  const std::string& name() const { return name_; }
  std::string log_path() const;
  std::string ReadLog() const;

  // How the stubs and Status() reach the node (TLS, token); plain text by default. Set it
  // before Start() for a node that serves TLS.
  void set_client_security(tls::ClientChannelSecurity security) { security_ = std::move(security); }
  // Starts the process with RLIMIT_NOFILE (soft and hard) set to `limit`, as `ulimit -n` would
  // (0 = inherit the test's). Set it before Start().
  void set_descriptor_limit(uint64_t limit) { descriptor_limit_ = limit; }
  const tls::ClientChannelSecurity& client_security() const { return security_; }

  std::unique_ptr<kvstore::v1::KV::Stub> KvStub() const;
  std::unique_ptr<kvstore::v1::Admin::Stub> AdminStub() const;
  std::unique_ptr<kvstore::v1::Replication::Stub> ReplicationStub() const;
  absl::StatusOr<kvstore::v1::StatusResponse> Status() const;

 private:
  std::vector<std::string> ArgsForStart() const;
  std::shared_ptr<grpc::Channel> Channel() const;

  const std::string name_;
  const std::vector<std::string> args_;
  const std::string work_dir_;
  pid_t pid_ = -1;
  std::string address_;
  std::string http_address_;
  bool wants_http_ = false;
  tls::ClientChannelSecurity security_;
  uint64_t descriptor_limit_ = 0;
};

}  // namespace kv::testing
