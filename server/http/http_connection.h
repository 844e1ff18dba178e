#pragma once
// Internal to server/http: the state a server shares with its connections, and one
// connection's read -> check framing -> handle -> write (in pieces) loop. Not for use outside
// server/http.
//
// Over TLS the connection owns a Beast SSL stream over its socket and starts with the server
// handshake; reads and writes go through WithStream, which picks the stream once per operation.
//
// Threading: a connection runs on its loop's thread, except Register/Refuse (the accept loop,
// before the connection starts), Complete (any thread: posts to the loop unless already on it)
// and Abandon (after the I/O threads are joined). Ownership: shared_ptr, held by the pending
// I/O operation's handler and by a Responder while a handler owns the request; the loop and
// the server keep only weak or raw references.

#include <atomic>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/http/http_server.h"
#include "server/http/pending_bodies.h"
#include "server/http/throttled_log.h"

namespace kv::server {

class HttpConnection;

// Concrete executor types: no type-erased executor on the per-request path.
using HttpSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using HttpTlsStream = boost::beast::ssl_stream<HttpSocket>;
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
  explicit Shared(HttpServerOptions o)
      : options(std::move(o)), pending(options.max_pending_response_bytes) {}

  // nullptr when unrouted.
  const HttpHandler* FindHandler(absl::string_view path) const;

  const HttpServerOptions options;
  // Answer bodies held by connections that are writing them.
  PendingBodies pending;
  // Timeouts: every sweep_interval a connection waiting for its client gains a tick; at
  // max_idle_ticks (reading) or max_write_ticks (writing) it is closed; 0 = never. Zero interval
  // = neither timeout, no sweeping.
  std::chrono::nanoseconds sweep_interval{0};
  int max_idle_ticks = 0;
  int max_write_ticks = 0;
  // Routes: written before Start, read-only while the I/O threads run, cleared by Stop.
  absl::flat_hash_map<std::string, HttpHandler> exact;
  std::vector<std::pair<std::string, HttpHandler>> prefixes;  // longest first

  // One per thread; alive from Start until Stop has joined the threads.
  std::vector<std::unique_ptr<HttpLoop>> loops;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;  // on loops[0]
  std::optional<HttpSocket> accepting;               // the socket being accepted (accept loop only)
  size_t next_loop = 0;                              // accept loop only
  ThrottledLog accept_error_log{absl::Seconds(10)};  // accept loop only
  ThrottledLog refusal_log{absl::Seconds(10)};       // accept loop only
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> accept_errors{0};
  std::atomic<uint64_t> write_timeouts{0};
  std::atomic<uint64_t> answers_refused{0};
  std::atomic<uint64_t> tls_handshake_failures{0};
  absl::Mutex handshake_log_mu;  // the loops share the handshake-failure log
  ThrottledLog handshake_failure_log ABSL_GUARDED_BY(handshake_log_mu){absl::Seconds(10)};

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
  // `tls_context` null: plain HTTP; else the connection speaks TLS with that context.
  HttpConnection(std::shared_ptr<HttpServer::Shared> shared, HttpLoop* loop, HttpSocket socket,
                 std::string peer, std::shared_ptr<boost::asio::ssl::context> tls_context);
  ~HttpConnection();

  enum class Admission { kAdmitted, kFull, kDraining };
  // Registers with the server as an open connection. kFull when max_connections are open (call
  // Refuse), kDraining when the server is stopping (the socket is then closed).
  Admission Register();
  // After Register answered kFull, on the accept loop: answers 503 without blocking (reading
  // what the client already sent, so the close sends FIN rather than RST) and closes. Over TLS
  // it only closes: an answer would need a handshake.
  void Refuse();
  // On the connection's thread: starts reading requests (after the TLS handshake, over TLS).
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
  // HttpStream (http_stream.cc): the next chunk of a streamed answer, and its end; any thread.
  static void StreamWrite(std::shared_ptr<HttpConnection> self, std::string chunk);
  static void StreamEnd(std::shared_ptr<HttpConnection> self);

  boost::asio::io_context::executor_type executor() const { return executor_; }
  const std::string& peer() const { return peer_; }

 private:
  // kStreaming: a streamed answer between chunks.
  enum class State { kReading, kHandling, kWriting, kStreaming, kClosed };
  // Runs `f` on the connection's thread (at once when already there); dropped once the server
  // has stopped.
  template <typename F>
  static void OnThread(std::shared_ptr<HttpConnection> self, F&& f);
  // A streamed answer's chunk or head was written (from OnWrite).
  void OnStreamWritten();
  // Starts writing the first queued chunk.
  void WriteNextChunk();
  // Tells a streamed answer's owner that the connection closed (from Close).
  void EndStreamEvents();

  // Calls f(stream) with the TLS stream, or the socket for plain HTTP.
  template <typename F>
  void WithStream(F&& f) {
    if (tls_ != nullptr) {
      f(*tls_);
    } else {
      f(*socket_);
    }
  }
  // The TCP socket under the stream.
  HttpSocket& Socket() { return tls_ != nullptr ? tls_->next_layer() : *socket_; }
  void OnHandshake(boost::beast::error_code ec);
  void Read();
  // The request head is in: checks its framing, then reads the body if any.
  void OnHeader(boost::beast::error_code ec);
  void OnRead(boost::beast::error_code ec);
  void Dispatch();
  void Write(HttpResponse response);
  // Holds out_'s body in shared_->pending, or replaces out_ by a 503 when over the budget.
  void HoldBody();
  // Writes what the socket takes of the rest of the head and the next piece of the body.
  void WriteNext();
  void OnWrite(boost::beast::error_code ec, size_t written);
  // Releases out_'s body and its count in shared_->pending; shrinks grown buffers.
  void ReleaseBody();
  // Answers a request that could not be parsed, then closes.
  void Reject(int status, absl::string_view text);
  void Close();

  const std::shared_ptr<HttpServer::Shared> shared_;
  HttpLoop* const loop_;
  const boost::asio::io_context::executor_type executor_;
  const void* const context_id_;  // the io_context, compared with CurrentHttpContext() only
  const std::string peer_;
  std::optional<HttpSocket> socket_;  // plain HTTP; reset by Abandon
  // TLS: the context (kept alive for the stream) and the stream that owns the socket.
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<HttpTlsStream> tls_;  // reset by Abandon
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  HttpResponse spare_;           // buffers for the next Responder
  HttpResponse out_;             // the answer being written
  std::string head_;             // its status line and headers
  absl::string_view head_left_;  // of head_, still to write
  absl::string_view body_left_;  // of out_.content(), still to write (empty for HEAD)
  // out_'s body as counted in shared_->pending (held_ = counted).
  bool held_ = false;
  const void* held_shared_ = nullptr;
  size_t held_bytes_ = 0;
  State state_ = State::kReading;
  bool keep_alive_ = true;
  bool head_only_ = false;
  int version_ = 11;
  bool closing_ = false;  // set by BeginShutdown
  bool registered_ = false;
  bool counted_open_ = false;  // counted in shared_->open_connections
  int idle_ticks_ = 0;         // sweeps since the last read or write (piece) completed
  // A streamed answer (out_.streamed() when it began): its callback, the chunk being written,
  // and whether End was asked.
  std::function<void(bool)> stream_event_;
  std::string stream_chunk_;
  std::deque<std::string> stream_queue_;  // chunks handed over while one is being written
  bool stream_end_ = false;
};

}  // namespace kv::server
