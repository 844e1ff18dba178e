#include "server/http/request_framing.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kv::server {
namespace {

namespace http = boost::beast::http;
using ::testing::HasSubstr;

http::fields Fields(const std::vector<std::pair<http::field, std::string>>& lines) {
  http::fields fields;
  for (const auto& [name, value] : lines) fields.insert(name, value);
  return fields;
}

constexpr auto kTe = http::field::transfer_encoding;
constexpr auto kCl = http::field::content_length;

TEST(RequestFramingTest, AcceptsPlainFraming) {
  EXPECT_TRUE(CheckRequestFraming(Fields({}), 11).ok());
  EXPECT_TRUE(CheckRequestFraming(Fields({}), 10).ok());
  EXPECT_TRUE(CheckRequestFraming(Fields({{kCl, "0"}}), 11).ok());
  EXPECT_TRUE(CheckRequestFraming(Fields({{kCl, "12"}}), 10).ok());
  EXPECT_TRUE(CheckRequestFraming(Fields({{kCl, "12"}, {kCl, "12"}}), 11).ok());
  EXPECT_TRUE(CheckRequestFraming(Fields({{kCl, "12, 12"}}), 11).ok());
  EXPECT_TRUE(CheckRequestFraming(Fields({{kTe, "chunked"}}), 11).ok());
  EXPECT_TRUE(CheckRequestFraming(Fields({{kTe, "CHUNKED"}}), 11).ok());
  EXPECT_TRUE(CheckRequestFraming(Fields({{kTe, " chunked\t"}}), 11).ok());
  EXPECT_TRUE(CheckRequestFraming(Fields({{kTe, ", chunked ,"}}), 11).ok());
}

TEST(RequestFramingTest, RejectsTransferCodingsOtherThanChunked) {
  struct Case {
    std::vector<std::pair<http::field, std::string>> fields;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {{{kTe, "xchunked"}}, "the final transfer coding is 'xchunked', not chunked"},
      {{{kTe, "chunked, identity"}}, "the final transfer coding is 'identity', not chunked"},
      {{{kTe, "identity"}}, "not chunked"},
      {{{kTe, "gzip"}}, "not chunked"},
      {{{kTe, "chunked;q=1"}}, "not chunked"},
      {{{kTe, "gzip, chunked"}}, "unsupported transfer coding 'gzip' (only chunked)"},
      {{{kTe, "gzip"}, {kTe, "chunked"}}, "unsupported transfer coding 'gzip'"},
      {{{kTe, "chunked, chunked"}}, "chunked transfer coding applied more than once"},
      {{{kTe, "chunked"}, {kTe, "chunked"}}, "applied more than once"},
      {{{kTe, ""}}, "empty Transfer-Encoding"},
      {{{kTe, " , "}}, "empty Transfer-Encoding"},
      {{{kTe, std::string(200, 'z')}}, "..."},  // quotes are cut
  };
  for (const Case& c : cases) {
    const absl::Status s = CheckRequestFraming(Fields(c.fields), 11);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.reason;
    EXPECT_THAT(s.message(), HasSubstr(c.reason));
    EXPECT_LT(s.message().size(), 120u);
  }
}

TEST(RequestFramingTest, RejectsTransferEncodingWithContentLengthOrInHttp10) {
  for (const auto& fields :
       {Fields({{kTe, "chunked"}, {kCl, "5"}}), Fields({{kCl, "5"}, {kTe, "chunked"}}),
        Fields({{kTe, "xchunked"}, {kCl, "5"}})}) {
    const absl::Status s = CheckRequestFraming(fields, 11);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("both Transfer-Encoding and Content-Length"));
  }
  const absl::Status s = CheckRequestFraming(Fields({{kTe, "chunked"}}), 10);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("HTTP/1.0"));
}

TEST(RequestFramingTest, RejectsConflictingOrMalformedContentLength) {
  struct Case {
    std::vector<std::pair<http::field, std::string>> fields;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {{{kCl, "5"}, {kCl, "6"}}, "conflicting Content-Length values 5 and 6"},
      {{{kCl, "5, 6"}}, "conflicting Content-Length values 5 and 6"},
      {{{kCl, "5,"}}, "malformed Content-Length '5,'"},
      {{{kCl, "+5"}}, "malformed"},
      {{{kCl, "-1"}}, "malformed"},
      {{{kCl, "0x10"}}, "malformed"},
      {{{kCl, "99999999999999999999999"}}, "malformed"},
      {{{kCl, ""}}, "malformed"},
  };
  for (const Case& c : cases) {
    const absl::Status s = CheckRequestFraming(Fields(c.fields), 11);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.reason;
    EXPECT_THAT(s.message(), HasSubstr(c.reason));
  }
}

}  // namespace
}  // namespace kv::server
