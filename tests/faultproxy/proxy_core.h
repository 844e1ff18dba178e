#pragma once
// Internal to FaultProxy: the io_context side. ProxyCore owns the listener, the live sessions,
// the fault settings and the counters. Settings and counters may be touched from any thread;
// everything else ("loop only") runs on the proxy's io thread.

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "tests/faultproxy/fault_proxy.h"
#include "tests/faultproxy/faults.h"

namespace kv::testing::internal {

using SteadyClock = std::chrono::steady_clock;
using tcp = boost::asio::ip::tcp;

class Session;

// Counters updated by sessions and read by stats().
struct Counters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> cut{0};
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint64_t> forwarded[2] = {0, 0};
  std::atomic<uint64_t> queued[2] = {0, 0};
};

class ProxyCore {
 public:
  explicit ProxyCore(const FaultProxyOptions& options);
  ~ProxyCore();

  // Resolves the target and binds the listener (caller's thread, before Run()).
  absl::Status Open();
  uint16_t bound_port() const { return bound_port_; }
  // The io thread's body: accepts and proxies until Shutdown().
  void Run();
  // Closes the listener and every session, then lets Run() return. Any thread.
  void Shutdown();

  // Any thread.
  FaultSettings faults() const;
  DirectionFaults faults(Direction dir) const;
  // Applies `change` under the lock, then wakes every session to re-evaluate its queue.
  void UpdateFaults(absl::FunctionRef<void(FaultSettings&)> change);
  // Blocks until done; must not be called on the io thread.
  int CutAll();
  FaultProxyStats stats() const;
  Counters& counters() { return counters_; }

  // Loop only, for sessions.
  boost::asio::io_context& io() { return io_; }
  const tcp::resolver::results_type& target() const { return target_; }
  const FaultProxyOptions& options() const { return options_; }
  // A uniform sample in [-1, 1] that scales the jitter of one chunk.
  double SampleJitterUnit() { return jitter_dist_(rng_); }
  // The bandwidth cap's schedule for `dir`: the time the link is free again.
  SteadyClock::time_point& link_free_at(Direction dir) {
    return link_free_at_[static_cast<int>(dir)];
  }
  void OnSessionClosed(uint64_t id);

 private:
  void DoAccept();
  void OnAccept(const boost::system::error_code& ec, tcp::socket socket);
  void KickAll();
  int CutAllInLoop();

  const FaultProxyOptions options_;
  // Declared before everything that holds sockets or timers, so it is destroyed last.
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  tcp::resolver::results_type target_;
  uint16_t bound_port_ = 0;

  mutable absl::Mutex mu_;
  FaultSettings faults_ ABSL_GUARDED_BY(mu_);

  Counters counters_;

  // Loop only.
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> jitter_dist_{-1.0, 1.0};
  SteadyClock::time_point link_free_at_[2];
  std::unordered_map<uint64_t, std::shared_ptr<Session>> sessions_;
  uint64_t next_session_id_ = 1;
  bool stopping_ = false;
};

}  // namespace kv::testing::internal
