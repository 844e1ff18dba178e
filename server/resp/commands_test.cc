// Every command's reply shape, in RESP2 and RESP3, through a real server over a FakeNode.

#include <atomic>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/resp/resp_fixture.h"

namespace kv::server::resp {
namespace {

using ::kv::server::resp::testing::RespFixture;
using ::kv::server::resp::testing::RespValue;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using CommandsTest = RespFixture;

TEST_F(CommandsTest, PingEcho) {
  EXPECT_EQ(Call({"PING"}), "PONG");
  EXPECT_EQ(Call({"ping", "hi"}), "\"hi\"");
  EXPECT_EQ(Call({"PING", "a", "b"}), "(error) ERR wrong number of arguments for 'ping' command");
  EXPECT_EQ(Call({"ECHO", std::string("a\0b", 3)}), std::string("\"a\0b\"", 5));
  EXPECT_EQ(Call({"ECHO"}), "(error) ERR wrong number of arguments for 'echo' command");
}

TEST_F(CommandsTest, UnknownCommandNamesIt) {
  EXPECT_EQ(Call({"FLUSHALL"}),
            "(error) ERR unknown command 'FLUSHALL', with args beginning with: ");
  EXPECT_EQ(Call({"hset", "h", "f"}),
            "(error) ERR unknown command 'hset', with args beginning with: 'h' 'f' ");
}

TEST_F(CommandsTest, InlineCommands) {
  ASSERT_TRUE(client().SendRaw("PING\r\nECHO \"a b\"\r\n").ok());
  EXPECT_EQ(client().Read()->ToString(), "PONG");
  EXPECT_EQ(client().Read()->ToString(), "\"a b\"");
}

TEST_F(CommandsTest, GetIsBinarySafeAndNullWhenMissing) {
  const std::string key("k\0\r\n\xff", 5);
  const std::string value("v\r\n\0\x80", 5);
  node_.Set(key, value);
  EXPECT_EQ(Value({"GET", key}).str, value);
  RespValue missing = Value({"get", "missing"});
  EXPECT_EQ(missing.type, RespValue::Type::kNull);
  EXPECT_EQ(missing.null_kind, '$');
  ASSERT_EQ(Value({"HELLO", "3"}).type, RespValue::Type::kMap);
  EXPECT_EQ(Value({"GET", "missing"}).null_kind, '_');
}

TEST_F(CommandsTest, ReadsCarryTheConnectionsReadOptionsAndContext) {
  node_.Set("a", "1");
  EXPECT_EQ(Call({"GET", "a"}), "\"1\"");
  kvstore::v1::ReadOptions o = node_.last_options();
  EXPECT_EQ(o.consistency(), kvstore::v1::CONSISTENCY_BOUNDED);
  EXPECT_EQ(o.max_staleness_micros(), 0);
  EXPECT_EQ(o.min_version(), 0u);
  EXPECT_FALSE(o.allow_stale());
  EXPECT_THAT(node_.last_context().peer, StartsWith("ipv4:127.0.0.1:"));
  EXPECT_GT(node_.last_context().deadline, absl::Now());

  EXPECT_EQ(
      Call({"KV.READOPTS", "MAXSTALENESS", "500ms", "MINVERSION", "123", "CONSISTENCY", "strong"}),
      "OK");
  EXPECT_EQ(Call({"KV.ALLOWSTALE", "on"}), "OK");
  EXPECT_EQ(Call({"MGET", "a"}), "[\"1\"]");
  o = node_.last_options();
  EXPECT_EQ(o.consistency(), kvstore::v1::CONSISTENCY_STRONG);
  EXPECT_EQ(o.max_staleness_micros(), 500'000);
  EXPECT_EQ(o.min_version(), 123u);
  EXPECT_TRUE(o.allow_stale());
  EXPECT_EQ(Call({"KV.READOPTS"}),
            "[\"consistency\", \"strong\", \"maxstaleness\", \"500.0ms\", \"minversion\", "
            "(integer) 123, \"allowstale\", (integer) 1, \"readyourwrites\", (integer) 1]");
  EXPECT_EQ(Call({"KV.READOPTS", "RESET"}), "OK");
  EXPECT_EQ(Call({"GET", "a"}), "\"1\"");
  EXPECT_EQ(node_.last_options().min_version(), 0u);
  EXPECT_EQ(node_.last_options().consistency(), kvstore::v1::CONSISTENCY_BOUNDED);
}

TEST_F(CommandsTest, ReadOptsErrorsChangeNothing) {
  EXPECT_THAT(Call({"KV.READOPTS", "MINVERSION", "5", "MAXSTALENESS", "soon"}),
              HasSubstr("ERR KV.READOPTS MAXSTALENESS"));
  EXPECT_THAT(Call({"KV.READOPTS", "MINVERSION", "-1"}), HasSubstr("unsigned integer"));
  EXPECT_THAT(Call({"KV.READOPTS", "BOGUS", "1"}), HasSubstr("unknown option 'BOGUS'"));
  EXPECT_THAT(Call({"KV.READOPTS", "MINVERSION"}), HasSubstr("needs a value"));
  EXPECT_THAT(Call({"KV.ALLOWSTALE", "maybe"}), HasSubstr("takes on or off"));
  EXPECT_EQ(Call({"GET", "a"}), "(nil)");
  EXPECT_EQ(node_.last_options().min_version(), 0u);
}

TEST_F(CommandsTest, StaleReadsFailUnlessAllowed) {
  node_.Set("stale/k", "old");
  EXPECT_EQ(Call({"GET", "stale/k"}),
            "(error) STALE edge edge-a is 7.2s stale (bound 5s) and its upstream 127.0.0.1:7000 "
            "is unreachable (connection refused); send KV.ALLOWSTALE on to accept a stale answer");
  EXPECT_THAT(Call({"MGET", "stale/k"}), StartsWith("(error) STALE "));
  EXPECT_EQ(Call({"KV.ALLOWSTALE", "on"}), "OK");
  EXPECT_EQ(Call({"GET", "stale/k"}), "\"old\"");
  EXPECT_EQ(Call({"KV.LASTREAD"}),
            "[\"staleness\", \"7.200000\", \"staleness_us\", (integer) 7200000, \"source\", "
            "\"edge-store\", \"as_of_version\", (integer) 1, \"node\", \"edge-a\", \"stale\", "
            "(integer) 1]");
}

TEST_F(CommandsTest, NodeErrorsMapToRedisPrefixes) {
  EXPECT_EQ(Call({"GET", "err/7/x"}), "(error) NOPERM node says no");
  EXPECT_EQ(Call({"GET", "err/16/x"}), "(error) NOAUTH node says no");
  EXPECT_EQ(Call({"GET", "err/3/x"}), "(error) ERR node says no");
  EXPECT_EQ(Call({"GET", "err/4/x"}), "(error) TRYAGAIN node says no");
  EXPECT_EQ(Call({"SET", "err/14/x", "v"}), "(error) TRYAGAIN node says no");
  EXPECT_EQ(Call({"DEL", "err/13/x"}), "(error) ERR INTERNAL: node says no");
  EXPECT_EQ(Call({"AUTH", "some-token"}), "OK");
  EXPECT_EQ(Call({"GET", "err/16/x"}), "(error) WRONGPASS node says no");
}

TEST_F(CommandsTest, LimitsGiveClearErrors) {
  EXPECT_EQ(Call({"GET", std::string(513, 'k')}),
            "(error) ERR key is 513 bytes, over this node's limit of 512 bytes (--max-key-bytes)");
  EXPECT_EQ(Call({"GET", ""}), "(error) ERR empty keys are not supported by this store");
  EXPECT_THAT(Call({"MGET", "a", std::string(600, 'k')}), HasSubstr("600 bytes"));
  RespServerOptions options;
  options.limits.max_value_bytes = 1000;
  options.parser = ParserLimitsFor(options.limits);
  StartServer(options);
  EXPECT_EQ(Call({"SET", "k", std::string(1001, 'v')}),
            "(error) ERR value is 1001 bytes (1001 B), over this node's limit of 1000 bytes "
            "(1000 B, --max-value-bytes)");
  EXPECT_EQ(node_.calls("Put"), 0);
}

TEST_F(CommandsTest, MgetKeepsOrderAcrossChunks) {
  std::vector<std::string> args = {"MGET"};
  for (int i = 0; i < 250; ++i) {
    args.push_back(absl::StrCat("k", i));
    if (i % 3 == 0) node_.Set(absl::StrCat("k", i), absl::StrCat("v", i));
  }
  node_.set_async(true);
  RespValue v = Value(args);
  ASSERT_EQ(v.type, RespValue::Type::kArray);
  ASSERT_EQ(v.elements.size(), 250u);
  for (int i = 0; i < 250; ++i) {
    if (i % 3 == 0) {
      EXPECT_EQ(v.elements[i].str, absl::StrCat("v", i));
    } else {
      EXPECT_EQ(v.elements[i].type, RespValue::Type::kNull) << i;
    }
  }
  EXPECT_EQ(node_.max_batch_keys_seen(), 100);
  EXPECT_EQ(Call({"EXISTS", "k0", "k1", "k3", "k0"}), "(integer) 3");
  EXPECT_EQ(Call({"EXISTS", "nope"}), "(integer) 0");
  EXPECT_EQ(Call({"MGET", "k0", "nope"}), "[\"v0\", (nil)]");
  ASSERT_EQ(Value({"HELLO", "3"}).type, RespValue::Type::kMap);
  v = Value({"MGET", "k0", "nope"});
  EXPECT_EQ(v.elements[1].null_kind, '_');
}

TEST_F(CommandsTest, MgetOfOneBatchIsOneCallAndBinarySafe) {
  const std::string key("k\0\r\n\xff", 5);
  const std::string value("v\r\n\0\x80", 5);
  node_.Set(key, value);
  node_.Set("big", std::string(20000, 'b'));  // moved into the reply as a segment of its own
  for (bool async : {false, true}) {
    node_.set_async(async);
    const int before = node_.calls("BatchGet");
    RespValue v = Value({"MGET", key, "nope", "big", key});
    ASSERT_EQ(v.type, RespValue::Type::kArray);
    ASSERT_EQ(v.elements.size(), 4u);
    EXPECT_EQ(v.elements[0].str, value);
    EXPECT_EQ(v.elements[1].type, RespValue::Type::kNull);
    EXPECT_EQ(v.elements[2].str, std::string(20000, 'b'));
    EXPECT_EQ(v.elements[3].str, value);
    EXPECT_EQ(Call({"EXISTS", key, "nope", "big", key}), "(integer) 3");
    EXPECT_EQ(node_.calls("BatchGet"), before + 2);
  }
  // Exactly one batch, and one more key: two.
  std::vector<std::string> args = {"MGET"};
  for (int i = 0; i < 100; ++i) args.push_back(absl::StrCat("k", i));
  int before = node_.calls("BatchGet");
  EXPECT_EQ(Value(args).elements.size(), 100u);
  EXPECT_EQ(node_.calls("BatchGet"), before + 1);
  args.push_back("k100");
  before = node_.calls("BatchGet");
  EXPECT_EQ(Value(args).elements.size(), 101u);
  EXPECT_EQ(node_.calls("BatchGet"), before + 2);
  // The read's freshness is recorded as for GET.
  EXPECT_THAT(Call({"KV.LASTREAD"}), HasSubstr("\"as_of_version\""));
}

TEST_F(CommandsTest, SharedAnswersAreWrittenBeforeTheirValuesAreReleased) {
  // The fake's shared values are overwritten when released: a reply that read them later
  // would show '#'s.
  node_.set_shared(true);
  const std::string key("k\0\r\n\xff", 5);
  const std::string value("v\r\n\0\x80", 5);
  const std::string big(20000, 'b');  // a segment of its own in the reply
  node_.Set(key, value);
  node_.Set("big", big);
  node_.Set("gone", "x", /*expiration=*/1);  // expired long ago: absent
  EXPECT_EQ(Value({"GET", key}).str, value);
  EXPECT_EQ(Value({"GET", "big"}).str, big);
  EXPECT_EQ(Value({"GET", "gone"}).type, RespValue::Type::kNull);
  EXPECT_EQ(node_.calls("TryGetShared"), 3);
  EXPECT_EQ(node_.calls("Get"), 0);
  // The shared read's freshness is the connection's last read.
  EXPECT_THAT(Call({"KV.LASTREAD"}), AllOf(HasSubstr("\"edge-cache\""), HasSubstr("\"edge-c\""),
                                           HasSubstr("(integer) 3000")));
  // What the node does not answer so (here a key it does not hold) takes the ordinary Get.
  EXPECT_EQ(Value({"GET", "missing"}).type, RespValue::Type::kNull);
  EXPECT_EQ(node_.calls("Get"), 1);
  // TTL is never answered from a shared value.
  EXPECT_EQ(Call({"TTL", key}), "(integer) -1");
  EXPECT_EQ(node_.calls("Get"), 2);

  RespValue v = Value({"MGET", key, "big", "gone", key});
  ASSERT_EQ(v.type, RespValue::Type::kArray);
  ASSERT_EQ(v.elements.size(), 4u);
  EXPECT_EQ(v.elements[0].str, value);
  EXPECT_EQ(v.elements[1].str, big);
  EXPECT_EQ(v.elements[2].type, RespValue::Type::kNull);
  EXPECT_EQ(v.elements[3].str, value);
  EXPECT_EQ(Call({"EXISTS", key, "big", "gone", key}), "(integer) 3");
  EXPECT_EQ(node_.calls("TryBatchGetShared"), 2);
  EXPECT_EQ(node_.calls("BatchGet"), 0);
  // One key the node does not share: the whole batch is asked the ordinary way.
  EXPECT_EQ(Call({"MGET", key, "missing"}), absl::StrCat("[\"", value, "\", (nil)]"));
  EXPECT_EQ(node_.calls("BatchGet"), 1);
  ASSERT_EQ(Value({"HELLO", "3"}).type, RespValue::Type::kMap);
  EXPECT_EQ(Value({"MGET", "gone"}).elements[0].null_kind, '_');

  // Pipelined: every reply in order, each from its own released value.
  std::string pipeline;
  for (int i = 0; i < 50; ++i) {
    node_.Set(absl::StrCat("p", i), absl::StrCat("value-", i));
    absl::StrAppend(&pipeline, "*2\r\n$3\r\nGET\r\n$", absl::StrCat("p", i).size(), "\r\np", i,
                    "\r\n");
  }
  ASSERT_TRUE(client().SendRaw(pipeline).ok());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(client().Read()->str, absl::StrCat("value-", i));
}

TEST_F(CommandsTest, SharedMgetOverTheOutputLimitFailsAsTheOrdinaryOne) {
  RespServerOptions options;
  options.limits.max_value_bytes = 1000;
  options.parser = ParserLimitsFor(options.limits);
  options.max_output_bytes = 1000 + 1024;
  StartServer(options);
  for (const char* key : {"a", "b", "c"}) node_.Set(key, std::string(1000, key[0]));
  // 3 values of "$1000\r\n" + 1000 + "\r\n".
  const std::string error =
      "(error) ERR MGET reply of 3027 bytes is larger than this connection's output limit of "
      "2024 bytes; ask for fewer keys";
  for (bool shared : {false, true}) {
    node_.set_shared(shared);
    EXPECT_EQ(Value({"MGET", "a", "b"}).elements.size(), 2u) << shared;
    EXPECT_EQ(Call({"MGET", "a", "b", "c"}), error) << shared;
    EXPECT_EQ(Call({"EXISTS", "a", "b", "c"}), "(integer) 3") << shared;
  }
  EXPECT_EQ(node_.calls("TryBatchGetShared"), 3);
  EXPECT_EQ(node_.calls("BatchGet"), 3);
}

TEST_F(CommandsTest, MgetErrorsInOneBatch) {
  node_.Set("a", "1");
  EXPECT_EQ(Call({"MGET", "a", "err/7/x"}), "(error) NOPERM node says no");
  node_.set_async(true);
  EXPECT_EQ(Call({"EXISTS", "a", "err/4/x"}), "(error) TRYAGAIN node says no");
  EXPECT_EQ(Call({"MGET", "a"}), "[\"1\"]");
}

TEST_F(CommandsTest, MgetOverTheOutputLimitFailsTheSameInOneOrManyBatches) {
  RespServerOptions options;
  options.limits.max_value_bytes = 1000;
  options.parser = ParserLimitsFor(options.limits);
  options.max_output_bytes = 1000 + 1024;
  options.limits.max_batch_keys = 2;
  StartServer(options);
  for (const char* key : {"a", "b", "c"}) node_.Set(key, std::string(1000, key[0]));
  // 3 values of "$1000\r\n" + 1000 + "\r\n" and a null "$-1\r\n" (RESP3: "_\r\n").
  auto error = [](int bytes) {
    return absl::StrCat("(error) ERR MGET reply of ", bytes,
                        " bytes is larger than this connection's output limit of 2024 bytes; "
                        "ask for fewer keys");
  };
  for (int batch_keys : {2, 100}) {  // several batches, one batch
    options.limits.max_batch_keys = batch_keys;
    StartServer(options);
    EXPECT_EQ(Value({"MGET", "a", "b"}).elements.size(), 2u) << batch_keys;
    EXPECT_EQ(Call({"MGET", "a", "nope", "b", "c"}), error(3032)) << batch_keys;
    EXPECT_EQ(Call({"EXISTS", "a", "nope", "b", "c"}), "(integer) 3");
    ASSERT_EQ(Value({"HELLO", "3"}).type, RespValue::Type::kMap);
    EXPECT_EQ(Call({"MGET", "a", "nope", "b", "c"}), error(3030)) << batch_keys;
  }
}

TEST_F(CommandsTest, TtlAndPttl) {
  node_.Set("forever", "v");
  node_.Set("soon", "v", absl::ToUnixSeconds(absl::Now()) + 100);
  EXPECT_EQ(Call({"TTL", "missing"}), "(integer) -2");
  EXPECT_EQ(Call({"PTTL", "missing"}), "(integer) -2");
  EXPECT_EQ(Call({"TTL", "forever"}), "(integer) -1");
  RespValue ttl = Value({"TTL", "soon"});
  EXPECT_GE(ttl.integer, 98);
  EXPECT_LE(ttl.integer, 100);
  RespValue pttl = Value({"PTTL", "soon"});
  EXPECT_GE(pttl.integer, 98'000);
  EXPECT_LE(pttl.integer, 100'000);
}

TEST_F(CommandsTest, SetAndReadYourWrites) {
  EXPECT_EQ(Call({"KV.LASTVERSION"}), "(integer) 0");
  EXPECT_EQ(Call({"SET", "a", "1"}), "OK");
  const uint64_t version = node_.head();
  EXPECT_EQ(Call({"KV.LASTVERSION"}), absl::StrCat("(integer) ", version));
  EXPECT_FALSE(node_.last_put().has_if_version());
  EXPECT_EQ(Call({"GET", "a"}), "\"1\"");
  EXPECT_EQ(node_.last_options().min_version(), version);  // read-your-writes
  EXPECT_EQ(Call({"KV.READOPTS", "READYOURWRITES", "off"}), "OK");
  EXPECT_EQ(Call({"GET", "a"}), "\"1\"");
  EXPECT_EQ(node_.last_options().min_version(), 0u);
}

TEST_F(CommandsTest, SetExpirations) {
  EXPECT_EQ(Call({"SET", "a", "1", "EX", "10"}), "OK");
  EXPECT_EQ(node_.last_put().ttl_seconds(), 10);
  EXPECT_EQ(Call({"SET", "a", "1", "PX", "1500"}), "OK");
  EXPECT_EQ(node_.last_put().ttl_seconds(), 2);
  EXPECT_EQ(Call({"SET", "a", "1", "EXAT", "4000000000"}), "OK");
  EXPECT_EQ(node_.last_put().expiration(), 4000000000);
  EXPECT_EQ(Call({"SET", "a", "1", "EX", "0"}), "(error) ERR invalid expire time in 'set' command");
  EXPECT_EQ(Call({"SET", "a", "1", "EX"}), "(error) ERR syntax error");
  EXPECT_EQ(Call({"SET", "a"}), "(error) ERR wrong number of arguments for 'set' command");
  // KEEPTTL keeps the expiration of the value it replaces.
  EXPECT_EQ(Call({"SET", "a", "2", "KEEPTTL"}), "OK");
  EXPECT_EQ(node_.last_put().expiration(), 4000000000);
  EXPECT_EQ(node_.last_put().ttl_seconds(), 0);
}

TEST_F(CommandsTest, SetConditions) {
  EXPECT_EQ(Call({"SET", "a", "1", "XX"}), "(nil)");
  EXPECT_EQ(node_.calls("Put"), 0);
  EXPECT_EQ(Call({"SET", "a", "1", "NX"}), "OK");
  EXPECT_EQ(node_.last_put().if_version(), 0u);
  EXPECT_TRUE(node_.last_put().has_if_version());
  EXPECT_EQ(Call({"SET", "a", "2", "NX"}), "(nil)");
  const uint64_t v1 = node_.head();
  EXPECT_EQ(Call({"SET", "a", "3", "XX"}), "OK");
  EXPECT_EQ(node_.last_put().if_version(), v1);
  EXPECT_EQ(Call({"GET", "a"}), "\"3\"");
  EXPECT_EQ(Call({"SET", "a", "4", "GET"}), "\"3\"");
  EXPECT_EQ(Call({"SET", "new", "x", "GET"}), "(nil)");
  EXPECT_EQ(Call({"GET", "new"}), "\"x\"");
  EXPECT_EQ(Call({"SET", "a", "5", "NX", "GET"}), "\"4\"");  // exists: answered, not written
  EXPECT_EQ(Call({"GET", "a"}), "\"4\"");
  ASSERT_EQ(Value({"HELLO", "3"}).type, RespValue::Type::kMap);
  EXPECT_EQ(Value({"SET", "a", "1", "NX"}).null_kind, '_');
}

TEST_F(CommandsTest, SetRetriesOnceAfterLosingARace) {
  node_.Set("a", "1");
  node_.LoseNextConditionalPuts(1);
  EXPECT_EQ(Call({"SET", "a", "2", "GET"}), "\"1\"");
  EXPECT_EQ(Call({"GET", "a"}), "\"2\"");
  node_.LoseNextConditionalPuts(2);
  EXPECT_THAT(Call({"SET", "a", "3", "XX"}), StartsWith("(error) TRYAGAIN SET lost twice"));
  EXPECT_EQ(Call({"GET", "a"}), "\"2\"");
}

TEST_F(CommandsTest, Del) {
  node_.Set("a", "1");
  node_.Set("b", "1");
  EXPECT_EQ(Call({"DEL", "a", "b", "c", "a"}), "(integer) 2");
  // a and b were deleted at versions 3 and 4 (c and the second a deleted nothing).
  EXPECT_EQ(Call({"KV.LASTVERSION"}), "(integer) 4");
  EXPECT_EQ(Call({"MGET", "a", "b"}), "[(nil), (nil)]");
  EXPECT_EQ(Call({"DEL"}), "(error) ERR wrong number of arguments for 'del' command");
}

TEST_F(CommandsTest, ScanByPrefix) {
  std::set<std::string> want;
  for (int i = 0; i < 25; ++i) {
    node_.Set(absl::StrCat("user:", i), "v");
    want.insert(absl::StrCat("user:", i));
  }
  node_.Set("other", "v");
  std::set<std::string> got;
  std::string cursor = "0";
  int rounds = 0;
  do {
    RespValue page = Value({"SCAN", cursor, "MATCH", "user:*", "COUNT", "10"});
    ASSERT_EQ(page.type, RespValue::Type::kArray) << page.ToString();
    ASSERT_EQ(page.elements.size(), 2u);
    cursor = page.elements[0].str;
    for (const RespValue& k : page.elements[1].elements) got.insert(k.str);
    ASSERT_LT(++rounds, 10);
  } while (cursor != "0");
  EXPECT_EQ(got, want);
  EXPECT_EQ(rounds, 3);

  RespValue all = Value({"scan", "0", "COUNT", "1000"});
  EXPECT_EQ(all.elements[0].str, "0");
  EXPECT_EQ(all.elements[1].elements.size(), 26u);
  EXPECT_EQ(Call({"SCAN", "0", "MATCH", "u?er*"}),
            "(error) ERR SCAN MATCH takes only prefix patterns such as 'user:*' or '*' (got "
            "'u?er*'): this store lists keys by prefix");
  EXPECT_THAT(Call({"SCAN", "0", "MATCH", "user:1"}), HasSubstr("only prefix patterns"));
  EXPECT_THAT(Call({"SCAN", "12345", "MATCH", "user:*"}), HasSubstr("invalid cursor"));
  EXPECT_EQ(Call({"SCAN", "abc"}), "(error) ERR invalid cursor");
  EXPECT_EQ(Call({"SCAN", "0", "COUNT", "0"}), "(error) ERR syntax error");
  EXPECT_EQ(Call({"SCAN", "0", "TYPE", "hash"}), "[\"0\", []]");
  EXPECT_EQ(Call({"SCAN", "0", "BOGUS", "x"}), "(error) ERR syntax error");
}

TEST_F(CommandsTest, DbsizeAndInfo) {
  node_.Set("a", "1");
  node_.Set("b", "1");
  EXPECT_EQ(Call({"DBSIZE"}), "(integer) 2");
  RespValue info = Value({"INFO"});
  ASSERT_EQ(info.type, RespValue::Type::kBulk);
  EXPECT_THAT(
      info.str,
      AllOf(HasSubstr("# Server\r\n"), HasSubstr("# Replication\r\nrole:slave"),
            HasSubstr("kv_staleness_seconds:0.012000\r\n"), HasSubstr("kv_applied_version:2\r\n"),
            HasSubstr("db0:keys=2,expires=0,avg_ttl=0"), HasSubstr("connected_clients:1\r\n")));
  ASSERT_EQ(Value({"HELLO", "3"}).type, RespValue::Type::kMap);
  RespValue replication = Value({"INFO", "replication"});
  EXPECT_EQ(replication.type, RespValue::Type::kVerbatim);
  EXPECT_THAT(replication.str, StartsWith("# Replication\r\n"));
}

TEST_F(CommandsTest, Hello) {
  RespValue hello = Value({"HELLO"});
  ASSERT_EQ(hello.type, RespValue::Type::kArray);  // RESP2: a flat map
  EXPECT_EQ(hello.elements[5].integer, 2);
  hello = Value({"HELLO", "3", "AUTH", "default", "token-1", "SETNAME", "app"});
  ASSERT_EQ(hello.type, RespValue::Type::kMap);
  EXPECT_THAT(
      hello.ToString(),
      StartsWith("{\"server\": \"kvstore\", \"version\": \"7.0.0\", \"proto\": (integer) 3, "
                 "\"id\": (integer) "));
  EXPECT_EQ(hello.elements[11].str, "replica");
  EXPECT_EQ(Call({"CLIENT", "GETNAME"}), "\"app\"");
  EXPECT_THAT(Value({"CLIENT", "INFO"}).str, HasSubstr(" kv-auth=1 "));
  EXPECT_EQ(Call({"HELLO", "4"}),
            "(error) NOPROTO unsupported protocol version (this server speaks 2 and 3)");
  EXPECT_EQ(Call({"HELLO", "x"}), "(error) ERR Protocol version is not an integer or out of range");
  EXPECT_EQ(Call({"HELLO", "2", "SETNAME"}), "(error) ERR Syntax error in HELLO option 'SETNAME'");
  EXPECT_EQ(Value({"HELLO", "2"}).type, RespValue::Type::kArray);
  EXPECT_EQ(Value({"GET", "missing"}).null_kind, '$');
}

TEST_F(CommandsTest, AuthStoresTheToken) {
  EXPECT_THAT(Value({"CLIENT", "INFO"}).str, HasSubstr(" kv-auth=0 "));
  EXPECT_EQ(Call({"AUTH", "tok"}), "OK");
  EXPECT_THAT(Value({"CLIENT", "INFO"}).str, HasSubstr(" kv-auth=1 "));
  EXPECT_EQ(Call({"AUTH", "user", "tok"}), "OK");
  EXPECT_EQ(Call({"AUTH", "a", "b", "c"}), "(error) ERR syntax error");
  EXPECT_EQ(Call({"AUTH"}), "(error) ERR wrong number of arguments for 'auth' command");
}

TEST_F(CommandsTest, EveryNodeCallPassesTheAdmitCheckWithTheToken) {
  RespServerOptions options;
  std::atomic<int> checks{0};
  options.admit = [&checks](std::optional<absl::string_view> authorization, CallContext* call) {
    ++checks;
    if (!authorization.has_value()) return absl::UnauthenticatedError("a token is required");
    if (*authorization != "Bearer good") return absl::UnauthenticatedError("token refused");
    call->peer += " (verified)";
    return absl::OkStatus();
  };
  StartServer(options);
  node_.Set("a", "1");
  EXPECT_EQ(Call({"PING"}), "PONG");  // no node call, no check
  EXPECT_EQ(checks.load(), 0);
  EXPECT_EQ(Call({"GET", "a"}), "(error) NOAUTH a token is required");
  EXPECT_EQ(Call({"MGET", "a"}), "(error) NOAUTH a token is required");
  EXPECT_EQ(Call({"SET", "a", "2"}), "(error) NOAUTH a token is required");
  EXPECT_EQ(Call({"DEL", "a"}), "(error) NOAUTH a token is required");
  EXPECT_EQ(Call({"SCAN", "0"}), "(error) NOAUTH a token is required");
  EXPECT_EQ(node_.calls("Get") + node_.calls("Put") + node_.calls("BatchGet"), 0);
  EXPECT_EQ(Call({"AUTH", "bad"}), "OK");
  EXPECT_EQ(Call({"GET", "a"}), "(error) WRONGPASS token refused");
  EXPECT_EQ(Call({"AUTH", "default", "good"}), "OK");
  EXPECT_EQ(Call({"GET", "a"}), "\"1\"");
  EXPECT_THAT(node_.last_context().peer, HasSubstr(" (verified)"));
  EXPECT_EQ(checks.load(), 7);
}

// Call objects are reused between connections: a call must never carry an earlier caller's
// credentials. The check here fills `authorization` only when a token was given, as the
// Gatekeeper does with auth off.
TEST_F(CommandsTest, CredentialsNeverLeakBetweenConnections) {
  RespServerOptions options;
  options.admit = [](std::optional<absl::string_view> authorization, CallContext* call) {
    if (authorization.has_value()) call->authorization = std::string(*authorization);
    return absl::OkStatus();
  };
  StartServer(options);
  node_.Set("a", "1");
  EXPECT_EQ(Call({"AUTH", "secret"}), "OK");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Call({"GET", "a"}), "\"1\"");
  EXPECT_EQ(node_.last_context().authorization, "Bearer secret");
  // Connections are spread over the two loops: one of these shares the first one's loop, and
  // so its pooled call objects.
  for (int c = 0; c < 2; ++c) {
    auto anonymous = Connect();
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(anonymous.CallText({"GET", "a"}), "\"1\"");
      EXPECT_EQ(node_.last_context().authorization, "") << "connection " << c;
    }
  }
}

// The pipeline hint (Node::PrefetchReads) goes only with credentials the check admits: a
// connection whose GETs would be refused cannot make the node look keys up.
TEST_F(CommandsTest, PipelineHintsNeedAdmittedCredentials) {
  RespServerOptions options;
  options.admit = [](std::optional<absl::string_view> authorization, CallContext* call) {
    if (authorization != "Bearer good") return absl::UnauthenticatedError("no");
    return absl::OkStatus();
  };
  StartServer(options);
  node_.Set("a", "1");
  const std::string pipeline = testing::RespTestClient::Encode({"GET", "a"}) +
                               testing::RespTestClient::Encode({"MGET", "a", "b"}) +
                               testing::RespTestClient::Encode({"GET", std::string(513, 'k')});
  auto send = [&] {
    ASSERT_TRUE(client().SendRaw(pipeline).ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(client().Read().ok());
  };
  send();  // no token: refused, and no hint
  EXPECT_TRUE(node_.prefetched().empty());
  EXPECT_EQ(Call({"AUTH", "bad"}), "OK");  // kept; the check refuses each command
  send();
  EXPECT_TRUE(node_.prefetched().empty());
  EXPECT_EQ(Call({"AUTH", "good"}), "OK");
  send();
  ASSERT_EQ(node_.prefetched().size(), 1u);
  // The over-long key is left out: its GET is refused before the node.
  EXPECT_EQ(node_.prefetched()[0], (std::vector<std::string>{"a", "a", "b"}));
}

TEST_F(CommandsTest, SelectAndQuit) {
  EXPECT_EQ(Call({"SELECT", "0"}), "OK");
  EXPECT_EQ(Call({"SELECT", "1"}),
            "(error) ERR DB index is out of range (this store has one keyspace: only SELECT 0)");
  EXPECT_EQ(Call({"SELECT", "x"}), "(error) ERR value is not an integer or out of range");
  EXPECT_EQ(Call({"QUIT"}), "OK");
  EXPECT_TRUE(client().WaitClosed());
}

TEST_F(CommandsTest, Client) {
  const RespValue id = Value({"CLIENT", "ID"});
  EXPECT_EQ(id.type, RespValue::Type::kInteger);
  EXPECT_EQ(Call({"CLIENT", "GETNAME"}), "(nil)");
  EXPECT_EQ(Call({"CLIENT", "SETNAME", "worker-1"}), "OK");
  EXPECT_EQ(Call({"CLIENT", "GETNAME"}), "\"worker-1\"");
  EXPECT_EQ(Call({"CLIENT", "SETNAME", "a b"}),
            "(error) ERR Client names cannot contain spaces, newlines or special characters.");
  EXPECT_EQ(Call({"CLIENT", "SETINFO", "LIB-NAME", "redis-py"}), "OK");
  const std::string info = Value({"CLIENT", "INFO"}).str;
  EXPECT_THAT(info, AllOf(StartsWith(absl::StrCat("id=", id.integer, " addr=127.0.0.1:")),
                          HasSubstr(" name=worker-1 "), HasSubstr(" lib-name=redis-py "),
                          HasSubstr(" resp=2 "), HasSubstr(" cmd=client ")));
  EXPECT_EQ(Call({"CLIENT", "KILL"}), "(error) ERR unknown subcommand 'KILL'. Try CLIENT HELP.");
  EXPECT_EQ(Call({"CLIENT", "ID", "x"}),
            "(error) ERR wrong number of arguments for 'client|id' command");
  EXPECT_EQ(Value({"CLIENT", "HELP"}).type, RespValue::Type::kArray);
  // Another connection has another id.
  auto other = Connect();
  EXPECT_NE(other.Call({"CLIENT", "ID"})->integer, id.integer);
}

TEST_F(CommandsTest, CommandForClients) {
  EXPECT_EQ(Call({"COMMAND", "COUNT"}), "(integer) 22");
  EXPECT_EQ(Call({"COMMAND", "DOCS"}), "[]");
  RespValue info = Value({"COMMAND", "INFO", "get", "nope"});
  ASSERT_EQ(info.elements.size(), 2u);
  EXPECT_EQ(info.elements[0].ToString(),
            "[\"get\", (integer) 2, [readonly, fast], (integer) 1, (integer) 1, (integer) 1, "
            "[], [], [], []]");
  EXPECT_EQ(info.elements[1].type, RespValue::Type::kNull);
  EXPECT_EQ(Value({"COMMAND"}).elements.size(), 22u);
  EXPECT_EQ(Value({"COMMAND", "LIST"}).elements.size(), 22u);
  EXPECT_THAT(Call({"COMMAND", "GETKEYS", "GET", "a"}), HasSubstr("unknown subcommand"));
  ASSERT_EQ(Value({"HELLO", "3"}).type, RespValue::Type::kMap);
  EXPECT_EQ(Call({"COMMAND", "DOCS"}), "{}");
}

TEST_F(CommandsTest, CommandsAreCaseInsensitive) {
  node_.Set("a", "1");
  EXPECT_EQ(Call({"gEt", "a"}), "\"1\"");
  EXPECT_EQ(Call({"kv.LastVersion"}), "(integer) 0");
}

}  // namespace
}  // namespace kv::server::resp
