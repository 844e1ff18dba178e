#include "server/http/http_server.h"

#include <pthread.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cmath>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "server/http/http_accept.h"
#include "server/http/http_connection.h"

namespace kv::server {
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

// Parses "HOST:PORT" into an endpoint, resolving names.
absl::StatusOr<tcp::endpoint> ParseListen(absl::string_view listen) {
  const size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", listen, "' is not HOST:PORT (example: 0.0.0.0:8080)"));
  }
  absl::string_view host = listen.substr(0, colon);
  const absl::string_view port_text = listen.substr(colon + 1);
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", listen, "': port must be a number in 0..65535"));
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
        absl::StrCat("listen address '", listen, "': cannot resolve host: ", ec.message()));
  }
  return results.begin()->endpoint();
}

// Every sweep_interval: ticks each connection of `loop`, forgetting closed ones.
void Sweep(HttpServer::Shared* shared, HttpLoop* loop) {
  loop->sweeper.expires_after(shared->sweep_interval);
  loop->sweeper.async_wait([shared, loop](boost::system::error_code ec) {
    if (ec) return;
    auto& connections = loop->connections;
    size_t kept = 0;
    for (size_t i = 0; i < connections.size(); ++i) {
      std::shared_ptr<HttpConnection> c = connections[i].lock();
      if (c == nullptr || !c->Sweep()) continue;
      if (kept != i) connections[kept] = std::move(connections[i]);  // no self-move: it empties
      ++kept;
    }
    connections.resize(kept);
    Sweep(shared, loop);
  });
}

}  // namespace

const HttpHandler* HttpServer::Shared::FindHandler(absl::string_view path) const {
  auto it = exact.find(path);
  if (it != exact.end()) return &it->second;
  for (const auto& [prefix, handler] : prefixes) {
    if (absl::StartsWith(path, prefix)) return &handler;
  }
  return nullptr;
}

HttpServer::HttpServer(HttpServerOptions options)
    : shared_(std::make_shared<Shared>(std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(absl::string_view path, HttpHandler handler) {
  shared_->exact[path] = std::move(handler);
}

void HttpServer::RoutePrefix(absl::string_view prefix, HttpHandler handler) {
  auto& prefixes = shared_->prefixes;
  prefixes.emplace_back(std::string(prefix), std::move(handler));
  std::stable_sort(prefixes.begin(), prefixes.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

absl::Status HttpServer::Start() {
  if (started_) return absl::FailedPreconditionError("HttpServer::Start called twice");
  started_ = true;
  const HttpServerOptions& options = shared_->options;
  if (options.threads < 1 || options.threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("http threads must be in 1..256, got ", options.threads));
  }
  if (options.max_connections < 1 || options.max_connections > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("http max_connections must be in 1..1000000, got ", options.max_connections));
  }
  if (options.idle_timeout <= absl::ZeroDuration() ||
      options.write_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("http idle_timeout and write_timeout must be positive");
  }
  absl::StatusOr<tcp::endpoint> endpoint = ParseListen(options.listen);
  if (!endpoint.ok()) return endpoint.status();

  for (int i = 0; i < options.threads; ++i) {
    shared_->loops.push_back(std::make_unique<HttpLoop>());
  }
  auto acceptor = std::make_unique<tcp::acceptor>(shared_->loops[0]->context);
  boost::system::error_code ec;
  acceptor->open(endpoint->protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(*endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.reset();  // before its io_context
    shared_->loops.clear();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, ": ", ec.message()));
  }
  port_ = acceptor->local_endpoint().port();
  shared_->acceptor = std::move(acceptor);
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->open = true;
  }
  AcceptConnections(shared_.get());
  // Close connections waiting for their client between 1x and 1.25x the timeout after their
  // last progress: idle ones (reading) after idle_timeout, stuck answers after write_timeout.
  const absl::Duration shortest = std::min(options.idle_timeout, options.write_timeout);
  if (shortest < kNever) {
    const absl::Duration interval =
        std::clamp(shortest / 4, absl::Milliseconds(5), absl::Seconds(1));
    const auto ticks = [interval](absl::Duration timeout) {
      if (timeout >= kNever) return 0;
      return 1 + static_cast<int>(std::ceil(absl::FDivDuration(timeout, interval)));
    };
    shared_->sweep_interval = absl::ToChronoNanoseconds(interval);
    shared_->max_idle_ticks = ticks(options.idle_timeout);
    shared_->max_write_ticks = ticks(options.write_timeout);
    for (auto& loop : shared_->loops) Sweep(shared_.get(), loop.get());
  }
  for (int i = 0; i < options.threads; ++i) {
    threads_.emplace_back([context = &shared_->loops[i]->context, i] {
      pthread_setname_np(pthread_self(), absl::StrCat("kv-http-", i).c_str());
      SetCurrentHttpContext(context);
      context->run();
      SetCurrentHttpContext(nullptr);
    });
  }
  KV_LOG(INFO) << (options.tls_context ? "https" : "http") << " listening on " << bound_address()
               << " with " << options.threads << " thread(s)";
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  if (threads_.empty()) return;  // Start failed

  // 1. Stop accepting; close idle connections, let answers in flight finish.
  std::vector<std::shared_ptr<HttpConnection>> live;
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->draining = true;
    for (HttpConnection* c : shared_->connections) {
      if (auto sp = c->weak_from_this().lock()) live.push_back(std::move(sp));
    }
  }
  Shared* shared = shared_.get();
  asio::post(shared->loops[0]->context, [shared] {
    boost::system::error_code ec;
    shared->acceptor->close(ec);
  });
  for (auto& c : live) asio::post(c->executor(), [c] { c->BeginShutdown(); });
  live.clear();
  {
    absl::MutexLock lock(&shared_->mu);
    auto drained =
        +[](Shared* s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return s->open_connections == 0; };
    shared_->mu.AwaitWithTimeout(absl::Condition(drained, shared), shared_->options.drain_timeout);
    // 2. From here on, Responders drop their answers instead of posting.
    shared_->open = false;
  }
  // 3. Stop the I/O threads.
  for (auto& loop : shared_->loops) loop->context.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  // 4. Release sockets of connections still alive (held by Responders or pending handlers)
  // while their io_context exists, then destroy the contexts and any handlers they queued.
  {
    absl::MutexLock lock(&shared_->mu);
    for (HttpConnection* c : shared_->connections) {
      if (auto sp = c->weak_from_this().lock()) live.push_back(std::move(sp));
    }
  }
  for (auto& c : live) c->Abandon();
  live.clear();
  shared_->acceptor.reset();
  shared_->accepting.reset();
  shared_->loops.clear();  // each loop's timer and pending handlers, then its io_context
  shared_->exact.clear();
  shared_->prefixes.clear();
}

std::string HttpServer::bound_address() const {
  if (shared_->acceptor == nullptr) return "";
  boost::system::error_code ec;
  const tcp::endpoint endpoint = shared_->acceptor->local_endpoint(ec);
  return ec ? "" : HostPort(endpoint);
}

uint64_t HttpServer::connections_accepted() const {
  return shared_->accepted.load(std::memory_order_relaxed);
}

int HttpServer::connections_open() const {
  absl::MutexLock lock(&shared_->mu);
  return shared_->open_connections;
}

HttpServerStats HttpServer::stats() const {
  HttpServerStats stats;
  stats.connections_accepted = shared_->accepted.load(std::memory_order_relaxed);
  stats.connections_refused = shared_->refused.load(std::memory_order_relaxed);
  stats.connections_open = connections_open();
  stats.accept_errors = shared_->accept_errors.load(std::memory_order_relaxed);
  stats.write_timeouts = shared_->write_timeouts.load(std::memory_order_relaxed);
  stats.answers_refused = shared_->answers_refused.load(std::memory_order_relaxed);
  stats.pending_response_bytes = shared_->pending.bytes();
  stats.tls_handshake_failures = shared_->tls_handshake_failures.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace kv::server
