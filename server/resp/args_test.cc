// Argument and error helpers: SET options, SCAN patterns, integers, status mapping, INFO text.

#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/resp/errors.h"
#include "server/resp/info.h"
#include "server/resp/scan_pattern.h"
#include "server/resp/set_args.h"

namespace kv::server::resp {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::optional<std::string> Parse(std::vector<absl::string_view> options, SetArgs* out) {
  return ParseSetArgs(absl::MakeConstSpan(options), out);
}

TEST(SetArgs, Options) {
  SetArgs a;
  EXPECT_EQ(Parse({"nx", "EX", "10", "GET"}, &a), std::nullopt);
  EXPECT_EQ(a.condition, SetArgs::Condition::kNotExists);
  EXPECT_EQ(a.ttl_seconds, 10);
  EXPECT_TRUE(a.get);
  EXPECT_TRUE(a.ReadsFirst());

  SetArgs px;
  EXPECT_EQ(Parse({"PX", "1001"}, &px), std::nullopt);
  EXPECT_EQ(px.ttl_seconds, 2);  // rounded up to whole seconds
  EXPECT_FALSE(px.ReadsFirst());

  SetArgs exat;
  EXPECT_EQ(Parse({"EXAT", "2000000000", "XX"}, &exat), std::nullopt);
  EXPECT_EQ(exat.expiration, 2000000000);
  EXPECT_TRUE(exat.ReadsFirst());

  SetArgs pxat;
  EXPECT_EQ(Parse({"PXAT", "2000000000001"}, &pxat), std::nullopt);
  EXPECT_EQ(pxat.expiration, 2000000001);

  SetArgs keep;
  EXPECT_EQ(Parse({"KEEPTTL"}, &keep), std::nullopt);
  EXPECT_TRUE(keep.ReadsFirst());
}

TEST(SetArgs, Errors) {
  SetArgs a;
  EXPECT_EQ(Parse({"NX", "XX"}, &a), "ERR syntax error");
  SetArgs b;
  EXPECT_EQ(Parse({"EX", "1", "PX", "5"}, &b), "ERR syntax error");
  SetArgs c;
  EXPECT_EQ(Parse({"EX"}, &c), "ERR syntax error");
  SetArgs d;
  EXPECT_EQ(Parse({"EX", "abc"}, &d), "ERR value is not an integer or out of range");
  SetArgs e;
  EXPECT_EQ(Parse({"EX", "0"}, &e), "ERR invalid expire time in 'set' command");
  SetArgs f;
  EXPECT_EQ(Parse({"EX", "-5"}, &f), "ERR invalid expire time in 'set' command");
  SetArgs g;
  EXPECT_EQ(Parse({"KEEPTTL", "EX", "5"}, &g), "ERR syntax error");
  SetArgs h;
  EXPECT_EQ(Parse({"BOGUS"}, &h), "ERR syntax error");
}

TEST(ScanPattern, OnlyPrefixes) {
  std::string prefix;
  EXPECT_TRUE(PrefixOfPattern("user:*", &prefix));
  EXPECT_EQ(prefix, "user:");
  EXPECT_TRUE(PrefixOfPattern("*", &prefix));
  EXPECT_EQ(prefix, "");
  EXPECT_TRUE(PrefixOfPattern("a\\*b\\?*", &prefix));
  EXPECT_EQ(prefix, "a*b?");
  for (const char* bad : {"user", "*a", "a*b*", "a?*", "[ab]*", "a\\", "", "a**"}) {
    EXPECT_FALSE(PrefixOfPattern(bad, &prefix)) << bad;
  }
}

TEST(Integers, StrictLikeRedis) {
  int64_t v = 0;
  EXPECT_TRUE(ParseInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(ParseInt64("9223372036854775807", &v));
  EXPECT_FALSE(ParseInt64("9223372036854775808", &v));
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "01", "-0", "1e3", "0x10"}) {
    EXPECT_FALSE(ParseInt64(bad, &v)) << bad;
  }
  uint64_t u = 0;
  EXPECT_TRUE(ParseUint64("18446744073709551615", &u));
  EXPECT_FALSE(ParseUint64("18446744073709551616", &u));
  EXPECT_FALSE(ParseUint64("-1", &u));
}

TEST(Errors, StatusToRedisPrefix) {
  const auto map = [](absl::StatusCode code, CallKind kind, bool token) {
    return ErrorForStatus(absl::Status(code, "why"), kind, token);
  };
  EXPECT_EQ(map(absl::StatusCode::kInvalidArgument, CallKind::kRead, false), "ERR why");
  EXPECT_EQ(map(absl::StatusCode::kUnauthenticated, CallKind::kRead, false), "NOAUTH why");
  EXPECT_EQ(map(absl::StatusCode::kUnauthenticated, CallKind::kWrite, true), "WRONGPASS why");
  EXPECT_EQ(map(absl::StatusCode::kPermissionDenied, CallKind::kRead, true), "NOPERM why");
  EXPECT_EQ(map(absl::StatusCode::kUnavailable, CallKind::kRead, false), "STALE why");
  EXPECT_EQ(map(absl::StatusCode::kUnavailable, CallKind::kWrite, false), "TRYAGAIN why");
  EXPECT_EQ(map(absl::StatusCode::kDeadlineExceeded, CallKind::kRead, false), "TRYAGAIN why");
  EXPECT_EQ(map(absl::StatusCode::kInternal, CallKind::kWrite, false), "ERR INTERNAL: why");
  EXPECT_EQ(ErrorForStatus(absl::UnavailableError(
                               "edge e is 7s stale; set allow_stale to accept a stale answer"),
                           CallKind::kRead, false),
            "STALE edge e is 7s stale; send KV.ALLOWSTALE on to accept a stale answer");
}

TEST(Errors, Texts) {
  EXPECT_EQ(WrongArity("GeT"), "ERR wrong number of arguments for 'get' command");
  const std::string long_arg(300, 'b');
  const absl::string_view args[] = {"a", long_arg};
  const std::string unknown = UnknownCommand("FOO\r\n", args);
  EXPECT_THAT(
      unknown,
      StartsWith("ERR unknown command 'FOO\\x0d\\x0a', with args beginning with: 'a' 'bbb"));
  EXPECT_LT(unknown.size(), 400u);
  Limits limits;
  EXPECT_EQ(CheckKey(limits, "k"), std::nullopt);
  EXPECT_THAT(*CheckKey(limits, ""), HasSubstr("empty keys"));
  EXPECT_THAT(*CheckKey(limits, std::string(513, 'k')),
              HasSubstr("513 bytes, over this node's limit of 512"));
  limits.max_value_bytes = 10;
  EXPECT_THAT(*CheckValue(limits, std::string(11, 'v')), HasSubstr("--max-value-bytes"));
}

TEST(Info, SectionsAndFields) {
  kvstore::v1::StatusResponse status;
  status.set_role("edge");
  status.set_mode("cache");
  status.set_node_id("edge-c");
  status.set_head_version(42);
  status.set_key_count(7);
  auto* r = status.mutable_replication();
  r->set_upstream("127.0.0.1:7000");
  r->set_connected(true);
  r->set_staleness_micros(7'200'000);
  r->set_max_staleness_micros(5'000'000);
  InfoFacts facts;
  facts.stats.connections_open = 3;
  const std::string all = InfoText(status, facts, {});
  for (const char* want :
       {"# Server\r\n", "# Clients\r\n", "# Replication\r\n", "# Keyspace\r\n", "role:slave\r\n",
        "kv_role:edge\r\n", "kv_mode:cache\r\n", "kv_applied_version:42\r\n",
        "kv_staleness_seconds:7.200000\r\n", "kv_max_staleness_seconds:5.000000\r\n",
        "kv_stale:1\r\n", "master_host:127.0.0.1\r\n", "master_port:7000\r\n",
        "master_link_status:up\r\n", "db0:keys=7,expires=0,avg_ttl=0\r\n",
        "connected_clients:3\r\n"}) {
    EXPECT_THAT(all, HasSubstr(want));
  }
  const absl::string_view only[] = {"REPLICATION"};
  const std::string replication = InfoText(status, facts, only);
  EXPECT_THAT(replication, StartsWith("# Replication\r\n"));
  EXPECT_THAT(replication, Not(HasSubstr("# Server")));
  const absl::string_view unknown[] = {"bogus"};
  EXPECT_EQ(InfoText(status, facts, unknown), "");

  kvstore::v1::StatusResponse central;
  central.set_role("central");
  EXPECT_THAT(InfoText(central, facts, only), HasSubstr("role:master\r\n"));
  EXPECT_THAT(InfoText(central, facts, only), HasSubstr("kv_staleness_seconds:0.000000\r\n"));
}

}  // namespace
}  // namespace kv::server::resp
