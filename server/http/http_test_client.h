#pragma once
// A blocking HTTP/1.1 client for tests, on Boost.Beast, over plain TCP or TLS (Boost.Asio's SSL
// stream, when given a client context). Every operation is bounded by a timeout (the I/O runs
// on the client's own io_context with run_for). Keeps its connection alive.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/rfc2818_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace kv::server::testing {

namespace http = boost::beast::http;
using HttpResult = http::response<http::string_body>;

class TestHttpClient {
 public:
  // `tls` null: plain HTTP. `receive_buffer` > 0 sets SO_RCVBUF before connecting (a client
  // that does not read takes little).
  explicit TestHttpClient(int port, absl::Duration timeout = absl::Seconds(10),
                          std::shared_ptr<boost::asio::ssl::context> tls = nullptr,
                          int receive_buffer = 0)
      : port_(port),
        timeout_(timeout),
        receive_buffer_(receive_buffer),
        tls_context_(std::move(tls)),
        socket_(context_) {
    if (tls_context_ != nullptr) {
      tls_ = std::make_unique<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>>(
          socket_, *tls_context_);
    }
  }
  TestHttpClient(int port, std::shared_ptr<boost::asio::ssl::context> tls,
                 absl::Duration timeout = absl::Seconds(10))
      : TestHttpClient(port, timeout, std::move(tls)) {}

  // Connects, and over TLS completes the handshake (verifying the server as "localhost" when
  // the context verifies peers).
  absl::Status Connect() {
    boost::system::error_code ec;
    socket_.open(boost::asio::ip::tcp::v4(), ec);
    if (!ec && receive_buffer_ > 0) {
      socket_.set_option(boost::asio::socket_base::receive_buffer_size(receive_buffer_), ec);
    }
    if (!ec) {
      socket_.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_)},
                      ec);
    }
    if (ec) return absl::UnavailableError(ec.message());
    if (tls_ == nullptr) return absl::OkStatus();
    tls_->set_verify_callback(boost::asio::ssl::rfc2818_verification("localhost"));
    return Run([&](auto handler) {
      tls_->async_handshake(boost::asio::ssl::stream_base::client,
                            [handler](boost::system::error_code e) mutable { handler(e, 0); });
    });
  }

  // Sends one request and reads its answer.
  absl::StatusOr<HttpResult> Request(http::verb method, absl::string_view target,
                                     bool keep_alive = true) {
    if (absl::Status s = Send(method, target, keep_alive); !s.ok()) return s;
    return Read(method == http::verb::head);
  }
  absl::StatusOr<HttpResult> Get(absl::string_view target) {
    return Request(http::verb::get, target);
  }

  absl::Status Send(http::verb method, absl::string_view target, bool keep_alive = true) {
    http::request<http::string_body> request(
        method, boost::beast::string_view(target.data(), target.size()), 11);
    request.set(http::field::host, "127.0.0.1");
    request.keep_alive(keep_alive);
    return Run([&](auto handler) {
      WithStream([&](auto& stream) { http::async_write(stream, request, handler); });
    });
  }

  // Writes raw bytes (malformed or pipelined requests).
  absl::Status SendRaw(absl::string_view bytes) {
    return Run([&](auto handler) {
      WithStream([&](auto& stream) {
        boost::asio::async_write(stream, boost::asio::buffer(bytes.data(), bytes.size()), handler);
      });
    });
  }

  absl::StatusOr<HttpResult> Read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    parser.body_limit(64 << 20);
    if (absl::Status s = Run([&](auto handler) {
          WithStream([&](auto& stream) { http::async_read(stream, buffer_, parser, handler); });
        });
        !s.ok()) {
      return s;
    }
    return parser.release();
  }

  // Up to `max` bytes of what the server sent (decrypted over TLS): at least one, unless the
  // connection ended (then "" and *closed = true) or the timeout passed (DeadlineExceeded).
  absl::StatusOr<std::string> ReadSome(size_t max, bool* closed) {
    *closed = false;
    std::string data(max, '\0');
    size_t got = 0;
    absl::Status s = Run([&](auto handler) {
      WithStream([&](auto& stream) {
        stream.async_read_some(boost::asio::buffer(data),
                               [handler, &got](boost::system::error_code ec, size_t n) mutable {
                                 got = n;
                                 handler(ec, n);
                               });
      });
    });
    if (absl::IsDeadlineExceeded(s)) return s;
    data.resize(got);
    if (!s.ok() && got == 0) *closed = true;
    return data;
  }

  // Reads until the server ends the connection or the timeout passes; *closed tells which.
  std::string ReadUntilClosed(bool* closed) {
    std::string all;
    *closed = false;
    while (!*closed) {
      absl::StatusOr<std::string> piece = ReadSome(64 * 1024, closed);
      if (!piece.ok()) break;
      all += *piece;
    }
    return all;
  }

  // True when the server closes the connection (EOF) within the timeout without sending more.
  bool ClosedByServer() {
    char byte;
    absl::Status s = Run([&](auto handler) {
      WithStream(
          [&](auto& stream) { stream.async_read_some(boost::asio::buffer(&byte, 1), handler); });
    });
    return !s.ok() && !absl::IsDeadlineExceeded(s);
  }

  void Close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  template <typename F>
  void WithStream(F&& f) {
    if (tls_ != nullptr) {
      f(*tls_);
    } else {
      f(socket_);
    }
  }

  template <typename Start>
  absl::Status Run(Start start) {
    bool done = false;
    boost::system::error_code result;
    start([&](boost::system::error_code ec, size_t) {
      done = true;
      result = ec;
    });
    context_.restart();
    context_.run_for(absl::ToChronoNanoseconds(timeout_));
    if (!done) {
      boost::system::error_code ec;
      socket_.cancel(ec);
      context_.restart();
      context_.run();
      return absl::DeadlineExceededError("timed out");
    }
    if (result) return absl::UnavailableError(result.message());
    return absl::OkStatus();
  }

  const int port_;
  const absl::Duration timeout_;
  const int receive_buffer_;
  const std::shared_ptr<boost::asio::ssl::context> tls_context_;
  boost::asio::io_context context_;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::beast::flat_buffer buffer_;
};

inline std::string Header(const HttpResult& result, absl::string_view name) {
  auto it = result.find(boost::beast::string_view(name.data(), name.size()));
  return it == result.end() ? std::string() : std::string(it->value());
}

}  // namespace kv::server::testing
