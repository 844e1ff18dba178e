#include "tests/faultproxy/proxy_core.h"

#include <boost/asio/post.hpp>
#include <future>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "tests/faultproxy/address.h"
#include "tests/faultproxy/session.h"

namespace kv::testing::internal {

ProxyCore::ProxyCore(const FaultProxyOptions& options)
    : options_(options),
      work_(boost::asio::make_work_guard(io_)),
      acceptor_(io_),
      accept_retry_(io_),
      faults_(options.initial_faults),
      rng_(options.seed) {}

ProxyCore::~ProxyCore() = default;

absl::Status ProxyCore::Open() {
  if (options_.read_chunk_bytes == 0 || options_.max_queued_bytes == 0) {
    return absl::InvalidArgumentError("read_chunk_bytes and max_queued_bytes must be > 0");
  }
  absl::StatusOr<HostPort> listen = ParseHostPort(options_.listen_address);
  if (!listen.ok()) return listen.status();
  absl::StatusOr<HostPort> target = ParseHostPort(options_.target_address);
  if (!target.ok()) return target.status();
  if (target->port == 0) return absl::InvalidArgumentError("target port must not be 0");

  tcp::resolver resolver(io_);
  boost::system::error_code ec;
  target_ = resolver.resolve(target->host, std::to_string(target->port), ec);
  if (ec || target_.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve target ", options_.target_address, ": ", ec.message()));
  }
  auto listen_eps =
      resolver.resolve(listen->host, std::to_string(listen->port), tcp::resolver::passive, ec);
  if (ec || listen_eps.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve listen address ",
                                                   options_.listen_address, ": ", ec.message()));
  }
  const tcp::endpoint ep = listen_eps.begin()->endpoint();
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.listen_address, ": ", ec.message()));
  }
  bound_port_ = acceptor_.local_endpoint().port();
  DoAccept();
  return absl::OkStatus();
}

void ProxyCore::Run() { io_.run(); }

void ProxyCore::Shutdown() {
  boost::asio::post(io_, [this] {
    stopping_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    std::vector<std::shared_ptr<Session>> all;
    for (auto& [id, s] : sessions_) all.push_back(s);
    for (auto& s : all) s->Close(/*reset=*/false);
    // With no listener, sessions or timers left, run() returns.
    work_.reset();
  });
}

FaultSettings ProxyCore::faults() const {
  absl::MutexLock l(&mu_);
  return faults_;
}

DirectionFaults ProxyCore::faults(Direction dir) const {
  absl::MutexLock l(&mu_);
  return faults_[dir];
}

void ProxyCore::UpdateFaults(absl::FunctionRef<void(FaultSettings&)> change) {
  FaultSettings before;
  FaultSettings after;
  {
    absl::MutexLock l(&mu_);
    before = faults_;
    change(faults_);
    after = faults_;
  }
  std::array<bool, 2> rate_changed;
  for (Direction d : kBothDirections) {
    rate_changed[static_cast<int>(d)] = before[d].bytes_per_second != after[d].bytes_per_second;
  }
  boost::asio::post(io_, [this, rate_changed] {
    // A new rate starts from now, not from the old schedule.
    for (Direction d : kBothDirections) {
      if (rate_changed[static_cast<int>(d)]) link_free_at(d) = SteadyClock::now();
    }
    KickAll();
  });
}

void ProxyCore::KickAll() {
  std::vector<std::shared_ptr<Session>> all;
  for (auto& [id, s] : sessions_) all.push_back(s);
  for (auto& s : all) s->Kick();
}

int ProxyCore::CutAll() {
  if (io_.get_executor().running_in_this_thread()) return CutAllInLoop();
  std::promise<int> done;
  std::future<int> result = done.get_future();
  boost::asio::post(io_, [this, &done] { done.set_value(CutAllInLoop()); });
  return result.get();
}

int ProxyCore::CutAllInLoop() {
  std::vector<std::shared_ptr<Session>> all;
  for (auto& [id, s] : sessions_) all.push_back(s);
  for (auto& s : all) s->Close(/*reset=*/true);
  counters_.cut += all.size();
  return static_cast<int>(all.size());
}

FaultProxyStats ProxyCore::stats() const {
  FaultProxyStats s;
  s.connections_accepted = counters_.accepted.load();
  s.connections_active = counters_.active.load();
  s.connections_refused = counters_.refused.load();
  s.connections_cut = counters_.cut.load();
  s.connect_failures = counters_.connect_failures.load();
  for (int d = 0; d < 2; ++d) {
    s.bytes_forwarded[d] = counters_.forwarded[d].load();
    s.bytes_queued[d] = counters_.queued[d].load();
  }
  return s;
}

void ProxyCore::DoAccept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void ProxyCore::OnAccept(const boost::system::error_code& ec, tcp::socket socket) {
  if (stopping_ || ec == boost::asio::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors and the like: back off briefly instead of spinning.
    KV_LOG(WARN) << "faultproxy: accept failed: " << ec.message();
    accept_retry_.expires_after(std::chrono::milliseconds(50));
    accept_retry_.async_wait([this](const boost::system::error_code& e) {
      if (!e && !stopping_) DoAccept();
    });
    return;
  }
  counters_.accepted++;
  if (faults().refuse_new) {
    counters_.refused++;
    boost::system::error_code ignored;
    socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
  } else {
    const uint64_t id = next_session_id_++;
    auto session = std::make_shared<Session>(*this, id, std::move(socket));
    sessions_.emplace(id, session);
    counters_.active++;
    session->Start();
  }
  DoAccept();
}

void ProxyCore::OnSessionClosed(uint64_t id) {
  if (sessions_.erase(id) > 0) counters_.active--;
}

}  // namespace kv::testing::internal
