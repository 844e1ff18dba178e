#pragma once
// Internal to http_server.cc: the state a server shares with its connections, and one
// connection's read -> handle -> write loop. Not for use outside server/http.

#include <atomic>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "server/http/http_server.h"

namespace kv::server {

class HttpConnection;

// Concrete executor types: no type-erased executor on the per-request path.
using HttpSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using HttpTimer =
    boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                      boost::asio::wait_traits<std::chrono::steady_clock>,
                                      boost::asio::io_context::executor_type>;

// One I/O thread's event loop and the connections it serves.
struct HttpLoop {
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  HttpLoop() : context(1), guard(context.get_executor()), sweeper(context.get_executor()) {}

  boost::asio::io_context context;
  std::optional<WorkGuard> guard;
  // Closes idle connections: one timer per loop instead of one per request.
  HttpTimer sweeper;
  // This loop's connections; touched on the loop's thread only.
  std::vector<std::weak_ptr<HttpConnection>> connections;
};

// Outlives the HttpServer while connections (held by Responders) remain.
struct HttpServer::Shared : std::enable_shared_from_this<HttpServer::Shared> {
  explicit Shared(HttpServerOptions o) : options(std::move(o)) {}

  // nullptr when unrouted.
  const HttpHandler* FindHandler(absl::string_view path) const;

  const HttpServerOptions options;
  // Idle detection: every sweep_interval a connection waiting for the client gains a tick; at
  // max_idle_ticks it is closed. Zero interval = no idle timeout.
  std::chrono::nanoseconds sweep_interval{0};
  int max_idle_ticks = 0;
  // Routes: written before Start, read-only while the I/O threads run, cleared by Stop.
  absl::flat_hash_map<std::string, HttpHandler> exact;
  std::vector<std::pair<std::string, HttpHandler>> prefixes;  // longest first

  // One per thread; alive from Start until Stop has joined the threads.
  std::vector<std::unique_ptr<HttpLoop>> loops;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;  // on loops[0]
  std::optional<HttpSocket> accepting;  // the socket being accepted (accept loop only)
  size_t next_loop = 0;                 // accept loop only
  std::atomic<uint64_t> accepted{0};

  mutable absl::Mutex mu;
  // True while the io_contexts may be posted to (from Start until Stop stops them).
  bool open ABSL_GUARDED_BY(mu) = false;
  // Stop has begun: new connections are closed at once, idle ones are closed.
  bool draining ABSL_GUARDED_BY(mu) = false;
  int open_connections ABSL_GUARDED_BY(mu) = 0;
  // Every live HttpConnection object (open or not), for Stop.
  absl::flat_hash_set<HttpConnection*> connections ABSL_GUARDED_BY(mu);
};

// The io_context the calling thread runs (set by each I/O thread), else null. Lets Send() know it
// is on its connection's thread without touching an io_context that may be gone.
void SetCurrentHttpContext(const void* context);
const void* CurrentHttpContext();

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(std::shared_ptr<HttpServer::Shared> shared, HttpLoop* loop, HttpSocket socket,
                 std::string peer);
  ~HttpConnection();

  // Registers with the server; false (and the socket is closed) when the server is draining.
  bool Register();
  // On the connection's thread: starts reading requests.
  void Start();
  // On the connection's thread, from the loop's sweeper: counts an idle tick and closes the
  // connection when it has waited for its client too long. False once closed.
  bool Sweep();
  // On the connection's thread: closes the connection if idle, else after the answer in flight.
  void BeginShutdown();
  // After the I/O threads have been joined: releases the socket and timer.
  void Abandon();

  // Responder::Send: writes `response` on the connection's thread.
  static void Complete(std::shared_ptr<HttpConnection> self, HttpResponse response);

  boost::asio::io_context::executor_type executor() const { return executor_; }

 private:
  enum class State { kReading, kHandling, kWriting, kClosed };

  void Read();
  void OnRead(boost::beast::error_code ec);
  void Dispatch();
  void Write(HttpResponse response);
  void OnWrite(boost::beast::error_code ec);
  // Answers a request that could not be parsed, then closes.
  void Reject(int status, absl::string_view text);
  void Close();

  const std::shared_ptr<HttpServer::Shared> shared_;
  HttpLoop* const loop_;
  const boost::asio::io_context::executor_type executor_;
  const void* const context_id_;  // the io_context, compared with CurrentHttpContext() only
  const std::string peer_;
  std::optional<HttpSocket> socket_;  // reset by Abandon
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  HttpResponse spare_;  // buffers for the next Responder
  HttpResponse out_;    // the answer being written
  std::string head_;    // its status line and headers
  State state_ = State::kReading;
  bool keep_alive_ = true;
  bool head_only_ = false;
  int version_ = 11;
  bool closing_ = false;  // set by BeginShutdown
  bool registered_ = false;
  bool counted_open_ = false;  // counted in shared_->open_connections
  int idle_ticks_ = 0;         // sweeps since the last read or write completed
};

}  // namespace kv::server
