#include "server/resp/resp_server.h"

#include <pthread.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cmath>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "server/resp/resp_accept.h"
#include "server/resp/session.h"

namespace kv::server::resp {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Timeouts this long or longer are never checked.
constexpr absl::Duration kNever = absl::Hours(24 * 365);

std::string HostPort(const tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  if (address.is_v4()) return absl::StrCat(address.to_string(), ":", endpoint.port());
  return absl::StrCat("[", address.to_string(), "]:", endpoint.port());
}

// "HOST:PORT" into an endpoint, resolving names (as HttpServer does).
absl::StatusOr<tcp::endpoint> ParseListen(absl::string_view listen) {
  const size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("resp listen address '", listen,
                                                   "' is not HOST:PORT (example: 0.0.0.0:6379)"));
  }
  absl::string_view host = listen.substr(0, colon);
  const absl::string_view port_text = listen.substr(colon + 1);
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("resp listen address '", listen, "': port must be a number in 0..65535"));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(std::string(host), ec);
  if (!ec) return tcp::endpoint(address, static_cast<uint16_t>(port));
  asio::io_context context;
  tcp::resolver resolver(context);
  auto results = resolver.resolve(std::string(host), std::string(port_text), ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("resp listen address '", listen, "': cannot resolve host: ", ec.message()));
  }
  return results.begin()->endpoint();
}

absl::Status CheckOptions(const RespServerOptions& o) {
  if (o.threads < 1 || o.threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("resp threads must be in 1..256, got ", o.threads));
  }
  if (o.max_connections < 1 || o.max_connections > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("resp max_connections must be in 1..1000000, got ", o.max_connections));
  }
  if (o.idle_timeout <= absl::ZeroDuration() || o.command_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("resp idle_timeout and command_timeout must be positive");
  }
  if (o.max_commands_in_flight < 1) {
    return absl::InvalidArgumentError("resp max_commands_in_flight must be at least 1");
  }
  if (o.max_output_bytes < o.limits.max_value_bytes + 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "resp max_output_bytes (", o.max_output_bytes,
        ") must exceed the largest value (max_value_bytes ", o.limits.max_value_bytes, ")"));
  }
  const ParserLimits& p = o.parser;
  if (p.max_args < 2 || p.max_inline_bytes < 16 || p.max_command_bytes > UINT32_MAX ||
      p.max_bulk_bytes + 2 > p.max_command_bytes) {
    return absl::InvalidArgumentError(
        "resp parser limits: max_args >= 2, max_inline_bytes >= 16, max_bulk_bytes + 2 <= "
        "max_command_bytes <= 4 GiB");
  }
  return absl::OkStatus();
}

// Every sweep_interval: ticks each session of `loop`, forgetting closed ones.
void Sweep(RespShared* shared, RespLoop* loop) {
  loop->sweeper.expires_after(shared->sweep_interval);
  loop->sweeper.async_wait([shared, loop](boost::system::error_code ec) {
    if (ec) return;
    auto& sessions = loop->sessions;
    size_t kept = 0;
    for (size_t i = 0; i < sessions.size(); ++i) {
      std::shared_ptr<Session> s = sessions[i].lock();
      if (s == nullptr || !s->Sweep()) continue;
      if (kept != i) sessions[kept] = std::move(sessions[i]);
      ++kept;
    }
    sessions.resize(kept);
    Sweep(shared, loop);
  });
}

}  // namespace

RespServer::RespServer(Node* node, RespServerOptions options)
    : shared_(std::make_shared<RespShared>(node, std::move(options))) {}

RespServer::~RespServer() { Stop(); }

absl::Status RespServer::Start() {
  if (started_) return absl::FailedPreconditionError("RespServer::Start called twice");
  started_ = true;
  const RespServerOptions& options = shared_->state.options;
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  absl::StatusOr<tcp::endpoint> endpoint = ParseListen(options.listen);
  if (!endpoint.ok()) return endpoint.status();

  for (int i = 0; i < options.threads; ++i) {
    shared_->loops.push_back(std::make_unique<RespLoop>());
  }
  auto acceptor = std::make_unique<tcp::acceptor>(shared_->loops[0]->context);
  boost::system::error_code ec;
  acceptor->open(endpoint->protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(*endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.reset();
    shared_->loops.clear();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, " (resp): ", ec.message()));
  }
  shared_->state.port = acceptor->local_endpoint().port();
  shared_->state.bound_address = HostPort(acceptor->local_endpoint());
  shared_->acceptor = std::move(acceptor);
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->open = true;
  }
  AcceptSessions(shared_.get());
  if (options.idle_timeout < kNever) {
    const absl::Duration interval =
        std::clamp(options.idle_timeout / 4, absl::Milliseconds(5), absl::Seconds(1));
    shared_->sweep_interval = absl::ToChronoNanoseconds(interval);
    shared_->max_idle_ticks =
        1 + static_cast<int>(std::ceil(absl::FDivDuration(options.idle_timeout, interval)));
    for (auto& loop : shared_->loops) Sweep(shared_.get(), loop.get());
  }
  for (int i = 0; i < options.threads; ++i) {
    threads_.emplace_back([context = &shared_->loops[i]->context, i] {
      pthread_setname_np(pthread_self(), absl::StrCat("kv-resp-", i).c_str());
      SetCurrentRespContext(context);
      context->run();
      SetCurrentRespContext(nullptr);
    });
  }
  KV_LOG(INFO) << "resp listening on " << bound_address() << " with " << options.threads
               << " thread(s)";
  return absl::OkStatus();
}

void RespServer::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  if (threads_.empty()) return;  // Start failed

  // 1. Stop accepting; close idle connections, let commands in flight finish.
  std::vector<std::shared_ptr<Session>> live;
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->draining = true;
    for (Session* s : shared_->sessions) {
      if (auto sp = s->weak_from_this().lock()) live.push_back(std::move(sp));
    }
  }
  RespShared* shared = shared_.get();
  asio::post(shared->loops[0]->context, [shared] {
    boost::system::error_code ec;
    shared->acceptor->close(ec);
  });
  for (auto& s : live) asio::post(s->executor(), [s] { s->BeginShutdown(); });
  live.clear();
  {
    absl::MutexLock lock(&shared_->mu);
    auto drained =
        +[](RespShared* s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return s->open_sessions == 0; };
    shared_->mu.AwaitWithTimeout(absl::Condition(drained, shared),
                                 shared_->state.options.drain_timeout);
    // 2. From here on, replies are dropped instead of posted.
    shared_->open = false;
  }
  // 3. Stop the I/O threads.
  for (auto& loop : shared_->loops) loop->context.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  // 4. Release sockets of sessions still alive (held by commands in flight) while their
  // io_context exists, then destroy the contexts and the handlers they queued.
  {
    absl::MutexLock lock(&shared_->mu);
    for (Session* s : shared_->sessions) {
      if (auto sp = s->weak_from_this().lock()) live.push_back(std::move(sp));
    }
  }
  for (auto& s : live) s->Abandon();
  live.clear();
  shared_->acceptor.reset();
  shared_->accepting.reset();
  shared_->loops.clear();
}

int RespServer::port() const { return shared_->state.port; }

std::string RespServer::bound_address() const { return shared_->state.bound_address; }

RespServerStats RespServer::stats() const { return shared_->state.Stats(); }

}  // namespace kv::server::resp
