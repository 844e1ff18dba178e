#include "server/resp/lookahead.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kv::server::resp {
namespace {

std::vector<std::vector<std::string>> Scan(absl::string_view bytes, size_t max = 100) {
  std::vector<std::vector<std::string>> seen;
  const size_t n = ScanAhead(bytes, max, [&](absl::Span<const absl::string_view> args) {
    seen.emplace_back(args.begin(), args.end());
  });
  EXPECT_EQ(n, seen.size());
  return seen;
}

using Commands = std::vector<std::vector<std::string>>;

TEST(ScanAhead, ReadsCompletePipelinedCommandsInOrder) {
  const std::string two =
      "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$4\r\nMGET\r\n$1\r\nb\r\n$2\r\nc\n\r\n";
  EXPECT_EQ(Scan(two), (Commands{{"GET", "a"}, {"MGET", "b", "c\n"}}));
  EXPECT_EQ(Scan(two, 1), (Commands{{"GET", "a"}}));
  // Binary-safe: a key holding "\r\n" and NUL.
  const std::string binary("*2\r\n$3\r\nGET\r\n$4\r\na\r\n\0\r\n", 24);
  EXPECT_EQ(Scan(binary), (Commands{{"GET", std::string("a\r\n\0", 4)}}));
}

// Anything it cannot read whole ends the look; what came before is still reported.
TEST(ScanAhead, StopsAtPartialInlineOrMalformedInput) {
  const std::string get = "*2\r\n$3\r\nGET\r\n$1\r\na\r\n";
  for (const std::string& tail : std::vector<std::string>{
           "*2\r\n$3\r\nGET\r\n$1\r\n",        // a partial command
           "*2\r\n$3\r\nGET\r\n$5\r\nab\r\n",  // a bulk longer than the bytes present
           "*2\r\n$3\r\nGET\r\n$1\r\nab\r\n",  // a bulk without its line end
           "GET b\r\n",                        // inline
           "*0\r\n",
           "*-1\r\n",
           "*\r\n",                            // nothing to run, or no count
           "*2\r\n$-1\r\n",                    // a null bulk
           "*2\r\n$3\r\nGET\r\n+1\r\n",        // not a bulk
           "*99999999999\r\n",                 // a count of more than ten digits
           "*129\r\n",                         // more arguments than the look takes
           "*2\r\n$99999999999\r\n",           // a length of more than ten digits
           "*2\n$3\r\nGET\r\n$1\r\na\r\n",     // a bare line feed
           "*2\r\n$3\r\nGET\r\n$01\r\na\r\n",  // a leading zero: the parser's protocol error
           "*02\r\n$3\r\nGET\r\n$1\r\na\r\n",
       }) {
    EXPECT_EQ(Scan(get + tail + get), (Commands{{"GET", "a"}})) << tail;
  }
  EXPECT_EQ(Scan(get + get).size(), 2u);
  EXPECT_TRUE(Scan("").empty());
  EXPECT_TRUE(Scan("*1").empty());
}

// A count or length the client claims costs nothing: only bytes present are looked at.
TEST(ScanAhead, HugeClaimsAreNotTrusted) {
  EXPECT_TRUE(Scan("*128\r\n$3\r\nGET\r\n").empty());
  EXPECT_TRUE(Scan("*1\r\n$2147483647\r\nab\r\n").empty());
  EXPECT_TRUE(Scan("*1\r\n$9999999999\r\nab\r\n").empty());
}

}  // namespace
}  // namespace kv::server::resp
