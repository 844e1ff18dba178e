#include "server/http/http_connection.h"

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <chrono>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace kv::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

absl::string_view View(beast::string_view s) { return absl::string_view(s.data(), s.size()); }

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

void HttpResponse::AddHeader(absl::string_view name, absl::string_view value) {
  if (name.empty() || HasCrLf(name) || HasCrLf(value)) return;
  absl::StrAppend(&headers_, name, ": ", value, "\r\n");
}

void HttpResponse::SetText(int status, absl::string_view text) {
  status_ = status;
  set_content_type("text/plain; charset=utf-8");
  body_.assign(text.data(), text.size());
  body_.push_back('\n');
}

void HttpResponse::Clear() {
  status_ = 200;
  headers_.clear();
  body_.clear();
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

void Responder::Send() {
  if (connection_ == nullptr) return;
  HttpConnection::Complete(std::move(connection_), std::move(response_));
}

HttpConnection::HttpConnection(std::shared_ptr<HttpServer::Shared> shared, HttpLoop* loop,
                               HttpSocket socket, std::string peer)
    : shared_(std::move(shared)),
      loop_(loop),
      executor_(loop->context.get_executor()),
      context_id_(&loop->context),
      peer_(std::move(peer)) {
  socket_.emplace(std::move(socket));
}

HttpConnection::~HttpConnection() {
  if (!registered_) return;
  absl::MutexLock lock(&shared_->mu);
  shared_->connections.erase(this);
  if (counted_open_) --shared_->open_connections;
}

bool HttpConnection::Register() {
  {
    absl::MutexLock lock(&shared_->mu);
    if (!shared_->draining) {
      shared_->connections.insert(this);
      ++shared_->open_connections;
      registered_ = counted_open_ = true;
      return true;
    }
  }
  beast::error_code ec;
  socket_->close(ec);
  state_ = State::kClosed;
  return false;
}

void HttpConnection::Start() {
  if (shared_->max_idle_ticks > 0) loop_->connections.push_back(weak_from_this());
  Read();
}

bool HttpConnection::Sweep() {
  if (state_ == State::kClosed) return false;
  if (state_ == State::kHandling) return true;  // the node has the request; not the client's fault
  if (++idle_ticks_ < shared_->max_idle_ticks) return true;
  Close();
  return false;
}

void HttpConnection::BeginShutdown() {
  closing_ = true;
  if (state_ == State::kReading) Close();
}

void HttpConnection::Abandon() {
  state_ = State::kClosed;
  socket_.reset();
  parser_.reset();
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
  http::async_read(*socket_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
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
}

void HttpConnection::Write(HttpResponse response) {
  if (state_ != State::kHandling || !socket_) return;  // closed meanwhile
  state_ = State::kWriting;
  out_ = std::move(response);
  const bool close = !keep_alive_ || closing_;
  keep_alive_ = !close;

  head_.clear();
  const auto status = static_cast<http::status>(out_.status_);
  absl::string_view reason = View(http::obsolete_reason(status));
  if (reason.empty() || reason == "<unknown-status>") reason = "Unknown";
  absl::StrAppend(&head_, "HTTP/1.1 ", out_.status_, " ", reason, "\r\n", out_.headers_,
                  "Content-Length: ", out_.body_.size(), "\r\n", DateHeader());
  if (close) {
    head_.append("Connection: close\r\n");
  } else if (version_ == 10) {
    head_.append("Connection: keep-alive\r\n");
  }
  head_.append("\r\n");

  const std::array<asio::const_buffer, 2> buffers = {
      asio::buffer(head_), head_only_ ? asio::const_buffer() : asio::buffer(out_.body_)};
  idle_ticks_ = 0;
  asio::async_write(*socket_, buffers, [self = shared_from_this()](beast::error_code ec, size_t) {
    self->OnWrite(ec);
  });
}

void HttpConnection::OnWrite(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  spare_ = std::move(out_);
  if (ec || !keep_alive_) {
    Close();
    return;
  }
  Read();
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
  socket_->shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  socket_->close(ec);
  parser_.reset();
  absl::MutexLock lock(&shared_->mu);
  if (counted_open_) --shared_->open_connections;
  counted_open_ = false;
}

}  // namespace kv::server
