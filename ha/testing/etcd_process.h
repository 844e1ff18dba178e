#pragma once
// A real single-member etcd (Debian's etcd-server) for tests: its own data directory and loopback
// ports chosen at runtime, SIGKILL on destruction, SIGSTOP/SIGCONT to make it hang.
//
// Threading: one owner thread. Ownership: owns the process and its directory.

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace kv::ha::testing {

class EtcdProcess {
 public:
  EtcdProcess();
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // Starts etcd and waits until it answers (or `timeout`).
  absl::Status Start(absl::Duration timeout = absl::Seconds(30));
  void Kill();
  void Pause();
  void Resume();
  // host:port of its client URL.
  const std::string& endpoint() const { return endpoint_; }
  std::string ReadLog() const;

 private:
  std::string dir_;
  std::string endpoint_;
  std::string peer_;
  pid_t pid_ = -1;
};

}  // namespace kv::ha::testing
