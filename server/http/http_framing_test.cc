// Request framing over real sockets (RFC 9112 section 6): ambiguous Transfer-Encoding /
// Content-Length combinations are answered 400 and the connection is closed, nothing behind them
// is served as a request, and the server goes on serving other clients.

#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_server.h"
#include "server/http/raw_test_socket.h"

namespace kv::server {
namespace {

using ::kv::server::testing::RawSocket;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A request for /smuggled hidden in the body of the request being tested: it must never be
// served.
constexpr absl::string_view kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

class HttpFramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(options);
    server_->Route("/x", [](const HttpRequest& request, Responder r) {
      r.response().SetText(200, absl::StrCat("body ", request.body));
      r.Send();
    });
    server_->Route("/smuggled", [this](const HttpRequest&, Responder r) {
      smuggled_.fetch_add(1);
      r.response().SetText(200, "smuggled");
      r.Send();
    });
    ASSERT_TRUE(server_->Start().ok());
  }

  // Sends `raw` on a new connection; returns everything the server sent until it closed the
  // connection (fails the test if it did not within 5 s).
  std::string SendAndReadUntilClosed(absl::string_view raw) {
    absl::StatusOr<RawSocket> socket = RawSocket::Connect(server_->port());
    EXPECT_TRUE(socket.ok()) << socket.status();
    if (!socket.ok()) return "";
    EXPECT_TRUE(socket->SendAll(raw).ok());
    bool closed = false;
    std::string answer = socket->ReadUntilClosed(absl::Seconds(5), &closed);
    EXPECT_TRUE(closed) << "the server kept the connection open after: " << raw;
    return answer;
  }

  // A well-formed request on a new connection is answered.
  void ExpectServesNextClient() {
    absl::StatusOr<RawSocket> socket = RawSocket::Connect(server_->port());
    ASSERT_TRUE(socket.ok()) << socket.status();
    ASSERT_TRUE(socket->SendAll("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok());
    bool closed = false;
    const std::string answer = socket->ReadUntilClosed(absl::Seconds(5), &closed);
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(answer, HasSubstr("\r\n\r\nbody \n"));
  }

  std::unique_ptr<HttpServer> server_;
  std::atomic<int> smuggled_{0};
};

struct BadCase {
  const char* name;
  std::string head;    // request line and header fields, without the blank line
  std::string reason;  // expected in the 400 body
};

TEST_F(HttpFramingTest, AmbiguousFramingIsRejectedAndClosed) {
  const std::string chunked_body = absl::StrCat("5\r\nhello\r\n0\r\n\r\n", kSmuggled);
  const std::vector<BadCase> cases = {
      {"unknown coding", "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked",
       "the final transfer coding is 'xchunked', not chunked"},
      {"chunked not final", "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity",
       "the final transfer coding is 'identity', not chunked"},
      {"identity alone", "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity",
       "not chunked"},
      {"unsupported coding before chunked",
       "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked",
       "unsupported transfer coding 'gzip'"},
      {"codings split over two fields",
       "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked",
       "bad request"},
      {"chunked twice",
       "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
       "bad request"},
      {"unknown coding with Content-Length (TE.CL smuggling)",
       "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5",
       "both Transfer-Encoding and Content-Length"},
      {"Content-Length then chunked (CL.TE smuggling)",
       "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked",
       "bad request"},
      {"chunked then Content-Length",
       "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5",
       "bad request"},
      {"conflicting Content-Length fields",
       "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6", "bad request"},
      {"conflicting Content-Length list", "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6",
       "bad request"},
      {"Transfer-Encoding in HTTP/1.0", "POST /x HTTP/1.0\r\nTransfer-Encoding: chunked",
       "Transfer-Encoding in an HTTP/1.0 request"},
      {"GET with an unknown coding", "GET /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo",
       "not chunked"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string answer =
        SendAndReadUntilClosed(absl::StrCat(c.head, "\r\n\r\n", chunked_body));
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
    EXPECT_THAT(answer, HasSubstr("Connection: close\r\n"));
    EXPECT_THAT(answer, HasSubstr(c.reason));
    // Exactly one answer: nothing after the head was taken for a request.
    EXPECT_EQ(answer.find("HTTP/1.1", 1), std::string::npos) << answer;
    ExpectServesNextClient();
  }
  EXPECT_EQ(smuggled_.load(), 0);
}

TEST_F(HttpFramingTest, UnambiguousFramingIsServed) {
  const std::vector<std::string> heads = {
      "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked",
      "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked",
      "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , chunked",
  };
  for (const std::string& head : heads) {
    SCOPED_TRACE(head);
    const std::string answer = SendAndReadUntilClosed(
        absl::StrCat(head, "\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(answer, HasSubstr("\r\n\r\nbody hello\n"));
  }
  // The same Content-Length twice is one length (RFC 9110 section 8.6).
  for (const char* lengths : {"Content-Length: 5\r\nContent-Length: 5", "Content-Length: 5, 5"}) {
    SCOPED_TRACE(lengths);
    const std::string answer = SendAndReadUntilClosed(absl::StrCat(
        "POST /x HTTP/1.1\r\nHost: x\r\n", lengths, "\r\nConnection: close\r\n\r\nhello"));
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(answer, HasSubstr("\r\n\r\nbody hello\n"));
  }
  EXPECT_EQ(smuggled_.load(), 0);
}

TEST_F(HttpFramingTest, KeepAliveGoesOnAfterAChunkedRequest) {
  absl::StatusOr<RawSocket> socket = RawSocket::Connect(server_->port());
  ASSERT_TRUE(socket.ok());
  ASSERT_TRUE(socket
                  ->SendAll("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "3\r\nabc\r\n0\r\n\r\n"
                            "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                  .ok());
  bool closed = false;
  const std::string answers = socket->ReadUntilClosed(absl::Seconds(5), &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(answers, HasSubstr("body abc\n"));
  const size_t second = answers.find("HTTP/1.1 200 OK", 1);
  ASSERT_NE(second, std::string::npos) << answers;
  EXPECT_THAT(answers.substr(second), HasSubstr("\r\n\r\nbody \n"));
}

}  // namespace
}  // namespace kv::server
