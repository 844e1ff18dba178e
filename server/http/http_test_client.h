#pragma once
// A blocking HTTP/1.1 client for tests, on Boost.Beast. Every operation is bounded by a timeout
// (the I/O runs on the client's own io_context with run_for). Keeps its connection alive.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
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
  explicit TestHttpClient(int port, absl::Duration timeout = absl::Seconds(10))
      : port_(port), timeout_(timeout), socket_(context_) {}

  absl::Status Connect() {
    boost::system::error_code ec;
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_)}, ec);
    if (ec) return absl::UnavailableError(ec.message());
    return absl::OkStatus();
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
    return Run([&](auto handler) { http::async_write(socket_, request, handler); });
  }

  // Writes raw bytes (malformed or pipelined requests).
  absl::Status SendRaw(absl::string_view bytes) {
    return Run([&](auto handler) {
      boost::asio::async_write(socket_, boost::asio::buffer(bytes.data(), bytes.size()), handler);
    });
  }

  absl::StatusOr<HttpResult> Read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    parser.body_limit(64 << 20);
    if (absl::Status s =
            Run([&](auto handler) { http::async_read(socket_, buffer_, parser, handler); });
        !s.ok()) {
      return s;
    }
    return parser.release();
  }

  // True when the server closes the connection (EOF) within the timeout without sending more.
  bool ClosedByServer() {
    char byte;
    absl::Status s =
        Run([&](auto handler) { socket_.async_read_some(boost::asio::buffer(&byte, 1), handler); });
    return !s.ok() && !absl::IsDeadlineExceeded(s);
  }

  void Close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
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
  boost::asio::io_context context_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

inline std::string Header(const HttpResult& result, absl::string_view name) {
  auto it = result.find(boost::beast::string_view(name.data(), name.size()));
  return it == result.end() ? std::string() : std::string(it->value());
}

}  // namespace kv::server::testing
