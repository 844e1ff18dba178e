#pragma once
// A small asynchronous HTTP/1.1 server on Boost.Beast/Asio for the node's HTTP endpoints.
//
// - One io_context per thread; accepted connections are spread round-robin over them, so a
//   connection's I/O never needs a strand or a lock.
// - Keep-alive and pipelining (answers in request order: the next request of a connection is
//   read after the previous answer was written). Per-connection buffers are reused; buffers
//   grown past 64 KiB by a large request or answer are released after it.
// - Limits (docs/http.md, "Limits"): request heads are checked for ambiguous framing
//   (request_framing.h: 400 and close); answers are written in slices of at most 256 KiB and a
//   client that stops reading is closed after write_timeout; answer bodies held for writing are
//   bounded in all (max_pending_response_bytes) and may be shared between connections
//   (HttpResponse::set_shared_body); at most max_connections are open (the excess gets 503 and
//   is closed); a failed accept (EMFILE, ENFILE) is logged at most every 10 s and retried every
//   100 ms, so the server never stops accepting.
// - A handler receives the request and a Responder; it may answer at once or later from any
//   thread (the node's Get may complete on a gRPC thread). The connection waits meanwhile.
// - Stop() stops accepting, closes idle connections, lets answers in flight finish for up to
//   drain_timeout, then closes everything and joins the threads. A Responder that outlives the
//   server stays safe to use: its answer is dropped.
//
//   HttpServer server(options);
// - TLS (tls_context set): every connection first completes a TLS handshake (Boost.Asio's SSL
//   stream under Beast; the handshake counts as reading for idle_timeout), then is served like a
//   plain one: the same limits apply. A connection takes the context tls_context returns when it
//   is accepted, so a reloaded certificate applies to new connections while open ones keep
//   theirs. Over TLS a connection beyond max_connections is closed without an answer (a 503
//   would need a handshake first). Failed handshakes are counted (tls_handshake_failures).
//
//   server.Route("/healthz", [](const HttpRequest&, Responder r) {
//     r.response().SetText(200, "ok");
//     r.Send();
//   });
//   if (absl::Status s = server.Start(); !s.ok()) ...;

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace kv::server {

struct HttpServerOptions {
  // "HOST:PORT"; HOST is an IPv4/IPv6 address ("[::1]:8080") or a name; empty HOST means all
  // IPv4 interfaces. Port 0 picks a free port (see HttpServer::port()).
  std::string listen = "0.0.0.0:8080";
  // Threads running the I/O, each with its own io_context.
  int threads = 1;
  // Largest request line + headers; larger requests get 431 and the connection is closed.
  size_t max_header_bytes = 16 * 1024;
  // Largest request body; larger bodies get 413 and the connection is closed.
  size_t max_body_bytes = 1024 * 1024;
  // A keep-alive connection that sends no (complete) request for this long is closed. Checked
  // coarsely: a connection is closed between 1x and 1.25x this after its last completed read or
  // write. A request waiting at its handler is never timed out.
  absl::Duration idle_timeout = absl::Seconds(60);
  // A connection whose answer makes no progress for this long (the client stopped reading and
  // the socket's send buffer stays full) is closed, and the answer's memory released. Progress
  // is any write the socket takes (at most 256 KiB each); checked as coarsely as idle_timeout.
  // The kernel reports room only once about a third of the send buffer (up to 4 MiB) drained,
  // so a reader slower than roughly (send buffer / 3) per write_timeout is closed too.
  absl::Duration write_timeout = absl::Seconds(30);
  // Open connections at most. One beyond is answered "503 Service Unavailable" with
  // Connection: close (without reading its request) and closed at once. 1..1000000.
  int max_connections = 4096;
  // Bytes of answer bodies held, in all, for connections still writing them (a shared body
  // counts once). An answer that would pass it is replaced by 503 with Retry-After: 1; bodies
  // of at most 64 KiB are always admitted. SIZE_MAX = no limit.
  size_t max_pending_response_bytes = size_t{256} << 20;
  // How long Stop() waits for answers in flight before closing their connections.
  absl::Duration drain_timeout = absl::Seconds(2);
  // When set, connections speak TLS with the context it returns at each accept (called on the
  // accept loop; must be quick and thread-safe, and never return null). Unset = plain HTTP.
  std::function<std::shared_ptr<boost::asio::ssl::context>()> tls_context;
};

// Counters of a running server (HttpServer::stats()).
struct HttpServerStats {
  uint64_t connections_accepted = 0;  // admitted since Start
  uint64_t connections_refused = 0;   // answered 503 and closed: max_connections were open
  int connections_open = 0;
  uint64_t accept_errors = 0;           // failed accepts, e.g. out of descriptors (EMFILE)
  uint64_t write_timeouts = 0;          // connections closed by write_timeout
  uint64_t answers_refused = 0;         // answers replaced by 503: max_pending_response_bytes
  size_t pending_response_bytes = 0;    // answer bodies held now (shared bodies once)
  uint64_t tls_handshake_failures = 0;  // TLS: handshakes that failed or timed out
};

enum class HttpMethod { kGet, kHead, kPost, kPut, kDelete, kOptions, kOther };

// A request, valid only during the handler call (copy what an asynchronous answer needs).
struct HttpRequest {
  HttpMethod method = HttpMethod::kOther;
  absl::string_view method_name;  // "GET"
  absl::string_view target;       // "/v1/kv/a%2Fb?consistency=strong", as sent
  absl::string_view path;         // "/v1/kv/a%2Fb" (target up to '?', still encoded)
  absl::string_view query;        // "consistency=strong" (after '?', still encoded)
  absl::string_view body;
  absl::string_view peer;  // "ipv4:127.0.0.1:5555"
  int version = 11;        // 10 or 11

  // The value of header `name` (case-insensitive), or "" when absent.
  absl::string_view Header(absl::string_view name) const;
  // How many times header `name` appears.
  size_t HeaderCount(absl::string_view name) const;

  const void* fields = nullptr;  // the parser's header fields (internal)
};

class HttpConnection;

// An answer being built. Content-Length, Connection and Date are added by the server.
class HttpResponse {
 public:
  int status() const { return status_; }
  void set_status(int status) { status_ = status; }

  // Appends a header line. A name or value holding CR or LF is dropped (no header injection).
  void AddHeader(absl::string_view name, absl::string_view value);
  void set_content_type(absl::string_view type) { AddHeader("Content-Type", type); }

  // The body, unless a shared body is set (set_body and SetText drop one).
  std::string& body() { return body_; }
  void set_body(std::string body) {
    body_ = std::move(body);
    shared_body_.reset();
  }
  // Sends `body` instead of body(), which it empties: a body held once and shared by several
  // answers (a large value read by many clients at once). Null drops the shared body.
  void set_shared_body(std::shared_ptr<const std::string> body);
  // The bytes to send: the shared body when set, else body().
  absl::string_view content() const {
    return shared_body_ != nullptr ? absl::string_view(*shared_body_) : absl::string_view(body_);
  }

  // status + "Content-Type: text/plain; charset=utf-8" + text followed by a newline.
  void SetText(int status, absl::string_view text);

  // Forgets status, headers and body, keeping the buffers' memory (up to a bound).
  void Clear();
  // Makes this a streamed answer (Server-Sent Events; Responder::SendStream sets it).
  bool streamed() const { return stream_event_ != nullptr; }

 private:
  friend class HttpConnection;
  friend class Responder;
  int status_ = 200;
  std::string headers_;  // "Name: value\r\n" lines
  std::string body_;
  std::shared_ptr<const std::string> shared_body_;
  std::function<void(bool)> stream_event_;  // a streamed answer's callback (HttpStream)
};

// The rest of a streamed answer (Responder::SendStream): chunks written in order on one
// connection, which closes at the end. Copyable; every call may come from any thread and is a
// no-op once the connection is closed.
class HttpStream {
 public:
  HttpStream() = default;
  // Writes `chunk`; call again only after the stream's callback reported the previous one
  // written (at most one chunk in flight).
  void Write(std::string chunk);
  // Closes the connection once the chunk in flight (if any) is written.
  void End();

 private:
  friend class Responder;
  explicit HttpStream(std::shared_ptr<HttpConnection> connection)
      : connection_(std::move(connection)) {}
  std::shared_ptr<HttpConnection> connection_;
};

class HttpConnection;

// Completes one request. Move-only; Send() at most once, from any thread. Destroying a
// Responder without Send() answers 500, so a request is never left hanging.
class Responder {
 public:
  Responder() = default;
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&& other) noexcept;
  ~Responder();

  HttpResponse& response() { return response_; }
  // Queues the answer for writing. A no-op once the connection or server is gone.
  void Send();
  bool sent() const { return connection_ == nullptr; }
  // Sends the status and headers (no Content-Length; Connection: close) and the body as the
  // first chunk of a streamed answer, and returns the way to write more. `on_event` runs on the
  // connection's thread: true after each chunk (the first one included) is written, false once
  // when the connection closes (client gone, write timeout, server stopping); never after that.
  HttpStream SendStream(std::function<void(bool)> on_event);

 private:
  friend class HttpConnection;
  Responder(std::shared_ptr<HttpConnection> connection, HttpResponse response)
      : connection_(std::move(connection)), response_(std::move(response)) {}

  std::shared_ptr<HttpConnection> connection_;
  HttpResponse response_;
};

// Called on an I/O thread: keep it quick (answer, or start asynchronous work and return).
using HttpHandler = std::function<void(const HttpRequest& request, Responder responder)>;

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  // Stops the server if running.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes, registered before Start(). An exact path wins over prefixes; among prefixes the
  // longest wins. Paths are matched before percent-decoding. Unrouted paths get 404.
  void Route(absl::string_view path, HttpHandler handler);
  void RoutePrefix(absl::string_view prefix, HttpHandler handler);

  // Binds, listens and starts the threads. InvalidArgument for a malformed listen address or
  // options, Unavailable when the address cannot be bound (in use, not local). Call once.
  absl::Status Start();
  // Idempotent; safe to call without Start(). Blocks for at most about drain_timeout. Must not
  // be called from a handler or any other code running on the server's I/O threads.
  void Stop();

  // The bound port (after Start), e.g. when listening on port 0.
  int port() const { return port_; }
  // "127.0.0.1:34567"
  std::string bound_address() const;

  // Connections admitted since Start, and currently open.
  uint64_t connections_accepted() const;
  int connections_open() const;
  HttpServerStats stats() const;

  struct Shared;  // routes and I/O state shared with connections and responders (internal)

 private:
  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace kv::server
