#include "server/http/http_connection.h"

#include <array>
#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <chrono>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "server/http/request_framing.h"

namespace kv::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

// Largest slice of a body handed to one write: write_timeout counts from the last write that
// made progress, so a large answer to a slow client is not timed out as a whole.
constexpr size_t kWritePieceBytes = 256 * 1024;
// Buffers grown past this by one large request or answer are released once it is done, so an
// idle keep-alive connection does not keep them.
constexpr size_t kKeptBufferBytes = 64 * 1024;

// The answer to a connection beyond max_connections.
constexpr absl::string_view kTooManyConnections =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Retry-After: 1\r\n"
    "Connection: close\r\n"
    "Content-Length: 21\r\n"
    "\r\n"
    "too many connections\n";

absl::string_view View(beast::string_view s) { return absl::string_view(s.data(), s.size()); }

void ShrinkIfGrown(std::string& s) {
  if (s.capacity() > kKeptBufferBytes) {
    std::string().swap(s);
  } else {
    s.clear();
  }
}

HttpMethod MethodOf(http::verb verb) {
  switch (verb) {
    case http::verb::get:
      return HttpMethod::kGet;
    case http::verb::head:
      return HttpMethod::kHead;
    case http::verb::post:
      return HttpMethod::kPost;
    case http::verb::put:
      return HttpMethod::kPut;
    case http::verb::delete_:
      return HttpMethod::kDelete;
    case http::verb::options:
      return HttpMethod::kOptions;
    default:
      return HttpMethod::kOther;
  }
}

// "Date: Tue, 15 Nov 1994 08:12:31 GMT\r\n", formatted at most once per second per thread.
absl::string_view DateHeader() {
  thread_local std::time_t cached_second = 0;
  thread_local char line[64];
  thread_local size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm;
    gmtime_r(&now, &tm);
    length = std::strftime(line, sizeof(line), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    cached_second = now;
  }
  return absl::string_view(line, length);
}

bool HasCrLf(absl::string_view s) {
  for (const char c : s) {
    if (c == '\r' || c == '\n') return true;
  }
  return false;
}

}  // namespace

namespace {
thread_local const void* current_http_context = nullptr;
}  // namespace

void SetCurrentHttpContext(const void* context) { current_http_context = context; }
const void* CurrentHttpContext() { return current_http_context; }

absl::string_view HttpRequest::Header(absl::string_view name) const {
  if (fields == nullptr) return {};
  const auto& f = *static_cast<const http::fields*>(fields);
  auto it = f.find(beast::string_view(name.data(), name.size()));
  return it == f.end() ? absl::string_view() : View(it->value());
}

size_t HttpRequest::HeaderCount(absl::string_view name) const {
  if (fields == nullptr) return 0;
  const auto& f = *static_cast<const http::fields*>(fields);
  return f.count(beast::string_view(name.data(), name.size()));
}

void HttpResponse::AddHeader(absl::string_view name, absl::string_view value) {
  if (name.empty() || HasCrLf(name) || HasCrLf(value)) return;
  absl::StrAppend(&headers_, name, ": ", value, "\r\n");
}

void HttpResponse::SetText(int status, absl::string_view text) {
  status_ = status;
  set_content_type("text/plain; charset=utf-8");
  shared_body_.reset();
  body_.assign(text.data(), text.size());
  body_.push_back('\n');
}

void HttpResponse::set_shared_body(std::shared_ptr<const std::string> body) {
  shared_body_ = std::move(body);
  ShrinkIfGrown(body_);
}

void HttpResponse::Clear() {
  status_ = 200;
  ShrinkIfGrown(headers_);
  ShrinkIfGrown(body_);
  shared_body_.reset();
}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (connection_ != nullptr) {
      response_.Clear();
      response_.SetText(500, "internal error: request dropped without an answer");
      Send();
    }
    connection_ = std::move(other.connection_);
    response_ = std::move(other.response_);
  }
  return *this;
}

Responder::~Responder() {
  if (connection_ == nullptr) return;
  response_.Clear();
  response_.SetText(500, "internal error: request dropped without an answer");
  Send();
}

HttpStream Responder::SendStream(std::function<void(bool)> on_event) {
  if (connection_ == nullptr) return HttpStream();
  response_.stream_event_ = std::move(on_event);
  HttpStream stream(connection_);
  Send();
  return stream;
}

void Responder::Send() {
  if (connection_ == nullptr) return;
  HttpConnection::Complete(std::move(connection_), std::move(response_));
}

HttpConnection::HttpConnection(std::shared_ptr<HttpServer::Shared> shared, HttpLoop* loop,
                               HttpSocket socket, std::string peer,
                               std::shared_ptr<asio::ssl::context> tls_context)
    : shared_(std::move(shared)),
      loop_(loop),
      executor_(loop->context.get_executor()),
      context_id_(&loop->context),
      peer_(std::move(peer)),
      tls_context_(std::move(tls_context)) {
  if (tls_context_ != nullptr) {
    tls_ = std::make_unique<HttpTlsStream>(std::move(socket), *tls_context_);
  } else {
    socket_.emplace(std::move(socket));
  }
}

HttpConnection::~HttpConnection() {
  ReleaseBody();
  if (!registered_) return;
  absl::MutexLock lock(&shared_->mu);
  shared_->connections.erase(this);
  if (counted_open_) --shared_->open_connections;
}

HttpConnection::Admission HttpConnection::Register() {
  {
    absl::MutexLock lock(&shared_->mu);
    if (!shared_->draining) {
      if (shared_->open_connections >= shared_->options.max_connections) {
        return Admission::kFull;
      }
      shared_->connections.insert(this);
      ++shared_->open_connections;
      registered_ = counted_open_ = true;
      return Admission::kAdmitted;
    }
  }
  beast::error_code ec;
  Socket().close(ec);
  state_ = State::kClosed;
  return Admission::kDraining;
}

void HttpConnection::Refuse() {
  state_ = State::kClosed;
  beast::error_code ec;
  if (tls_ != nullptr) {
    Socket().close(ec);
    return;
  }
  socket_->non_blocking(true, ec);
  // Closing a socket with unread input sends RST, which may destroy the answer before the
  // client reads it: take what has arrived (a request usually fits in one read).
  std::array<char, 4096> sink;
  for (int i = 0; i < 4 && !ec; ++i) socket_->read_some(asio::buffer(sink), ec);
  ec = {};
  socket_->write_some(asio::buffer(kTooManyConnections.data(), kTooManyConnections.size()), ec);
  socket_->shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  socket_->close(ec);
}

void HttpConnection::Start() {
  if (shared_->sweep_interval.count() > 0) loop_->connections.push_back(weak_from_this());
  if (tls_ == nullptr) {
    Read();
    return;
  }
  // The handshake is the start of reading: the sweeper closes a client that stalls in it after
  // idle_timeout.
  state_ = State::kReading;
  idle_ticks_ = 0;
  tls_->async_handshake(
      asio::ssl::stream_base::server,
      [self = shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
}

void HttpConnection::OnHandshake(beast::error_code ec) {
  if (ec && !closing_) {  // failed, or stalled until the sweeper closed it; not shut down
    shared_->tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
    uint64_t n = 0;
    {
      absl::MutexLock lock(&shared_->handshake_log_mu);
      n = shared_->handshake_failure_log.Occurred(absl::Now());
    }
    if (n > 0) {
      KV_LOG(WARN) << "http: TLS handshake with " << peer_ << " failed: " << ec.message() << " ("
                   << n << " failure(s) since the last report)";
    }
    Close();
    return;
  }
  if (state_ == State::kClosed) return;  // closed by BeginShutdown
  Read();
}

bool HttpConnection::Sweep() {
  if (state_ == State::kClosed) return false;
  if (state_ == State::kHandling) return true;   // the node has the request; not the client's fault
  if (state_ == State::kStreaming) return true;  // a stream between chunks waits for its source
  const bool writing = state_ == State::kWriting;
  const int limit = writing ? shared_->max_write_ticks : shared_->max_idle_ticks;
  if (limit == 0 || ++idle_ticks_ < limit) return true;
  if (writing) shared_->write_timeouts.fetch_add(1, std::memory_order_relaxed);
  Close();
  return false;
}

void HttpConnection::BeginShutdown() {
  closing_ = true;
  if (state_ == State::kReading || state_ == State::kStreaming) Close();
}

void HttpConnection::Abandon() {
  state_ = State::kClosed;
  socket_.reset();
  tls_.reset();
  parser_.reset();
  ReleaseBody();
  absl::MutexLock lock(&shared_->mu);
  if (counted_open_) --shared_->open_connections;
  counted_open_ = false;
}

void HttpConnection::Complete(std::shared_ptr<HttpConnection> self, HttpResponse response) {
  if (current_http_context == self->context_id_) {
    self->Write(std::move(response));
    return;
  }
  absl::ReaderMutexLock lock(&self->shared_->mu);
  if (!self->shared_->open) return;  // the server stopped; `self` is released after the lock
  asio::post(self->executor_, [self, response = std::move(response)]() mutable {
    self->Write(std::move(response));
  });
}

void HttpConnection::Read() {
  if (closing_) {
    Close();
    return;
  }
  state_ = State::kReading;
  parser_.emplace();
  parser_->header_limit(
      static_cast<uint32_t>(std::min<size_t>(shared_->options.max_header_bytes, UINT32_MAX)));
  parser_->body_limit(shared_->options.max_body_bytes);
  idle_ticks_ = 0;
  if (buffer_.size() == 0 && buffer_.capacity() > kKeptBufferBytes) buffer_.shrink_to_fit();
  WithStream([this](auto& stream) {
    http::async_read_header(
        stream, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  });
}

void HttpConnection::OnHeader(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  if (ec) {
    OnRead(ec);
    return;
  }
  const auto& head = parser_->get();
  if (absl::Status s = CheckRequestFraming(head, head.version()); !s.ok()) {
    Reject(400, absl::StrCat("bad request: ", s.message()));
    return;
  }
  if (!parser_->chunked() && head.find(http::field::transfer_encoding) != head.end()) {
    // Valid by the rules, but the parser did not take it as chunked: never guess the framing.
    Reject(400, "bad request: Transfer-Encoding not understood");
    return;
  }
  if (parser_->is_done()) {
    Dispatch();
    return;
  }
  WithStream([this](auto& stream) {
    http::async_read(
        stream, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  });
}

void HttpConnection::OnRead(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  if (!ec) {
    Dispatch();
    return;
  }
  if (ec == http::error::header_limit) {
    Reject(431, "request header fields too large");
  } else if (ec == http::error::body_limit) {
    Reject(413, "request body too large");
  } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
             ec != http::error::end_of_stream && ec != http::error::partial_message) {
    Reject(400, absl::StrCat("bad request: ", ec.message()));
  } else {
    Close();  // end of stream, reset, or closed by BeginShutdown or the sweeper
  }
}

void HttpConnection::Dispatch() {
  auto& request = parser_->get();
  state_ = State::kHandling;
  keep_alive_ = request.keep_alive();
  version_ = request.version();
  head_only_ = request.method() == http::verb::head;

  HttpRequest view;
  view.method = MethodOf(request.method());
  view.method_name = View(request.method_string());
  view.target = View(request.target());
  const size_t q = view.target.find('?');
  view.path = view.target.substr(0, q);
  if (q != absl::string_view::npos) view.query = view.target.substr(q + 1);
  view.body = request.body();
  view.peer = peer_;
  view.version = version_;
  view.fields = static_cast<const http::fields*>(&request);

  spare_.Clear();
  Responder responder(shared_from_this(), std::move(spare_));
  const HttpHandler* handler = shared_->FindHandler(view.path);
  if (handler == nullptr) {
    responder.response().SetText(404, absl::StrCat("no route for ", view.path));
    responder.Send();
    return;
  }
  (*handler)(view, std::move(responder));
  if (state_ != State::kClosed) parser_.reset();  // the request (and its body) is not needed now
}

void HttpConnection::Write(HttpResponse response) {
  if (state_ != State::kHandling || (!socket_ && !tls_)) return;  // closed meanwhile
  state_ = State::kWriting;
  out_ = std::move(response);
  if (out_.streamed()) {
    stream_event_ = std::move(out_.stream_event_);
    keep_alive_ = false;
  }
  const bool close = !keep_alive_ || closing_;
  keep_alive_ = !close;
  const size_t content_length = out_.content().size();
  if (head_only_) out_.set_shared_body(nullptr);  // and empties body(): nothing to send
  HoldBody();

  head_.clear();
  const auto status = static_cast<http::status>(out_.status_);
  absl::string_view reason = View(http::obsolete_reason(status));
  if (reason.empty() || reason == "<unknown-status>") reason = "Unknown";
  absl::StrAppend(&head_, "HTTP/1.1 ", out_.status_, " ", reason, "\r\n", out_.headers_);
  if (stream_event_ == nullptr) {
    absl::StrAppend(&head_, "Content-Length: ", head_only_ ? content_length : out_.content().size(),
                    "\r\n");
  }
  absl::StrAppend(&head_, DateHeader());
  if (close) {
    head_.append("Connection: close\r\n");
  } else if (version_ == 10) {
    head_.append("Connection: keep-alive\r\n");
  }
  head_.append("\r\n");
  head_left_ = head_;
  body_left_ = head_only_ ? absl::string_view() : out_.content();
  WriteNext();
}

void HttpConnection::HoldBody() {
  const void* shared = out_.shared_body_.get();
  size_t bytes = out_.content().size();
  if (!shared_->pending.TryHold(shared, bytes)) {
    shared_->answers_refused.fetch_add(1, std::memory_order_relaxed);
    out_.Clear();
    out_.AddHeader("Retry-After", "1");
    out_.SetText(503, "server busy: too many answers waiting for clients to read them");
    shared = nullptr;
    bytes = out_.body_.size();
    shared_->pending.TryHold(nullptr, bytes);  // small: always admitted
  }
  held_ = true;
  held_shared_ = shared;
  held_bytes_ = bytes;
}

void HttpConnection::WriteNext() {
  const asio::const_buffer body_piece =
      asio::buffer(body_left_.data(), std::min(body_left_.size(), kWritePieceBytes));
  // The head first, once written only the body: an SSL stream writes from the first buffer of a
  // sequence only, and an empty first buffer would "complete" a write of nothing, forever.
  std::array<asio::const_buffer, 2> buffers = {asio::buffer(head_left_.data(), head_left_.size()),
                                               body_piece};
  if (head_left_.empty()) buffers = {body_piece, asio::const_buffer()};
  idle_ticks_ = 0;
  WithStream([this, &buffers](auto& stream) {
    stream.async_write_some(buffers, [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->OnWrite(ec, n);
    });
  });
}

void HttpConnection::OnWrite(beast::error_code ec, size_t written) {
  if (state_ == State::kClosed) return;
  if (ec) {
    Close();
    return;
  }
  const size_t from_head = std::min(written, head_left_.size());
  head_left_.remove_prefix(from_head);
  body_left_.remove_prefix(written - from_head);
  if (!head_left_.empty() || !body_left_.empty()) {
    WriteNext();  // progress: idle_ticks_ starts over
    return;
  }
  if (stream_event_ != nullptr) {
    OnStreamWritten();
    return;
  }
  ReleaseBody();
  spare_ = std::move(out_);
  if (!keep_alive_) {
    Close();
    return;
  }
  if (state_ == State::kClosed) return;  // closed by BeginShutdown
  Read();
}

void HttpConnection::ReleaseBody() {
  head_left_ = {};
  body_left_ = {};
  if (held_) {
    shared_->pending.Release(held_shared_, held_bytes_);
    held_ = false;
  }
  out_.Clear();
}

void HttpConnection::Reject(int status, absl::string_view text) {
  state_ = State::kHandling;
  keep_alive_ = false;
  head_only_ = false;
  HttpResponse response = std::move(spare_);
  response.Clear();
  response.SetText(status, text);
  Write(std::move(response));
}

void HttpConnection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  beast::error_code ec;
  // Over TLS without close_notify: the answers carry Content-Length, so a client cannot mistake
  // the end of the connection for the end of an answer, and a blocking SSL_shutdown would wait.
  Socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  Socket().close(ec);  // cancels a pending operation: it no longer touches the answer's buffers
  parser_.reset();
  ReleaseBody();
  {
    absl::MutexLock lock(&shared_->mu);
    if (counted_open_) --shared_->open_connections;
    counted_open_ = false;
  }
  EndStreamEvents();
}

}  // namespace kv::server
