#include "client/kvctl/output.h"

#include <gtest/gtest.h>

#include "client/kvctl/exit_codes.h"

namespace kv::kvctl {
namespace {

using nlohmann::json;

TEST(OutputTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(OutputTest, BinaryBytesAreBase64AndMarked) {
  json obj = json::object();
  SetBytes(obj, "value", "text");
  SetBytes(obj, "key", std::string("\x00\xff", 2));
  EXPECT_EQ(obj["value"], "text");
  EXPECT_FALSE(obj.contains("key"));
  EXPECT_EQ(obj["key_base64"], "AP8=");
}

TEST(OutputTest, GetJsonCarriesEntryAndFreshness) {
  client::GetResult r;
  r.found = true;
  r.entry = {"k", std::string("\xff\xfe", 2), "meta", 42, 1700000000};
  r.info.staleness = absl::Microseconds(1500);
  r.info.source = client::Source::kEdgeCache;
  r.info.as_of_version = 50;
  r.info.node_id = "edge-1";
  r.info.endpoint = "127.0.0.1:7001";
  json j = GetJson("k", r);
  EXPECT_EQ(j["key"], "k");
  EXPECT_FALSE(j.contains("value"));
  EXPECT_EQ(j["value_base64"], "//4=");
  EXPECT_EQ(j["version"], 42);
  EXPECT_EQ(j["metadata"], "meta");
  EXPECT_EQ(j["expiration"], 1700000000);
  EXPECT_EQ(j["expires_at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["source"], "edge-cache");
  EXPECT_EQ(j["staleness_micros"], 1500);
  EXPECT_EQ(j["staleness"], "1.5ms");
  EXPECT_EQ(j["as_of_version"], 50);
  EXPECT_EQ(j["node"], "edge-1");
  EXPECT_EQ(j["stale"], false);
  EXPECT_EQ(j["found"], true);

  client::GetResult missing;
  missing.info.as_of_version = 9;
  json m = GetJson("gone", missing);
  EXPECT_EQ(m["found"], false);
  EXPECT_EQ(m["key"], "gone");
  EXPECT_FALSE(m.contains("version"));
}

TEST(OutputTest, ListJsonAndCursorRoundTrip) {
  client::ListResult page;
  page.entries.push_back({"a", "va", "", 1, 0});
  page.next_cursor = std::string("a\0\xff", 3);
  json j = ListJson(page, /*with_values=*/false);
  EXPECT_EQ(j["count"], 1);
  EXPECT_FALSE(j["entries"][0].contains("value"));
  EXPECT_FALSE(j["entries"][0].contains("expires_at"));
  absl::StatusOr<std::string> back = DecodeCursor(j["next_cursor"].get<std::string>());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, page.next_cursor);
  EXPECT_FALSE(DecodeCursor("not a cursor!").ok());
  EXPECT_TRUE(ListJson(page, true)["entries"][0].contains("value"));
}

TEST(OutputTest, PrintableEscapesControlAndBinary) {
  EXPECT_EQ(Printable("user/42"), "user/42");
  EXPECT_EQ(Printable("a\tb"), "a\\tb");
  EXPECT_EQ(Printable(std::string("\x01\xff", 2)), "\\x01\\xff");
}

TEST(OutputTest, Expiration) {
  EXPECT_EQ(FormatExpiration(0, 100), "never");
  EXPECT_EQ(FormatExpiration(1700000030, 1700000000), "2023-11-14T22:13:50Z (in 30s)");
  EXPECT_EQ(FormatExpiration(1700000000, 1700000001), "2023-11-14T22:13:20Z (expired)");
}

kvstore::v1::StatusResponse SampleEdgeStatus() {
  kvstore::v1::StatusResponse s;
  s.set_role("edge");
  s.set_mode("cache");
  s.set_node_id("edge-eu-1");
  s.set_build_version("0.1.0+abc");
  s.set_uptime_seconds(3723);
  s.set_head_version(12345);
  s.set_oldest_log_version(100);
  s.set_key_count(999);
  s.set_approximate_data_bytes(3 << 20);
  s.set_ready(true);
  auto* r = s.mutable_replication();
  r->set_upstream("central:7000");
  r->set_connected(true);
  r->set_state("streaming");
  r->set_staleness_micros(54200);
  r->set_max_staleness_micros(1000000);
  auto* d = s.add_downstreams();
  d->set_node_id("edge-eu-2");
  d->set_address("10.0.0.2:7000");
  d->set_mode("cache");
  d->set_acked_version(12340);
  d->set_lag_versions(5);
  d->set_lag_micros(1200);
  auto* c = s.mutable_cache();
  c->set_hits(950);
  c->set_misses(50);
  c->set_hit_ratio(0.95);
  c->set_promotions(40);
  c->set_evictions(10);
  c->set_bytes_used(64 << 20);
  c->set_bytes_limit(256 << 20);
  c->set_pending_fetches(2);
  c->set_coalesced_waits(12);
  return s;
}

TEST(OutputTest, StatusTextShowsEverySection) {
  std::string text = FormatStatusText(SampleEdgeStatus());
  for (const char* want : {"role:             edge (cache)",
                           "node id:          edge-eu-1",
                           "build:            0.1.0",
                           "uptime:           1h2m3s",
                           "ready:            yes",
                           "applied version:  12345",
                           "oldest log:       100",
                           "keys:             999",
                           "data size:        3 MiB",
                           "upstream:         central:7000",
                           "connected, streaming",
                           "staleness:      54.2ms (bound 1.00s)",
                           "ACKED",
                           "LAG(VERSIONS)",
                           "edge-eu-2",
                           "12340",
                           "hits 950, misses 50, hit ratio 95.0%",
                           "promotions 40, evictions 10",
                           "bytes used 64 MiB of 256 MiB (25.0%)",
                           "pending fetches 2, coalesced waits 12"}) {
    EXPECT_NE(text.find(want), std::string::npos) << "missing '" << want << "' in:\n" << text;
  }
  kvstore::v1::StatusResponse central;
  central.set_role("central");
  std::string c = FormatStatusText(central);
  EXPECT_NE(c.find("head version:"), std::string::npos);
  EXPECT_NE(c.find("downstreams:      0"), std::string::npos);
  EXPECT_EQ(c.find("cache:"), std::string::npos);
  EXPECT_EQ(c.find("upstream:"), std::string::npos);
}

TEST(OutputTest, StatusJsonHasNumbersAndEveryField) {
  json j = json::parse(FormatStatusJson(SampleEdgeStatus()));
  EXPECT_EQ(j["head_version"], 12345);  // a number, not proto3-JSON's "12345"
  EXPECT_EQ(j["cache"]["hit_ratio"], 0.95);
  EXPECT_EQ(j["downstreams"][0]["lag_versions"], 5);
  EXPECT_EQ(j["replication"]["state"], "streaming");
  EXPECT_TRUE(j.contains("cluster_id"));  // unset fields are present too
}

TEST(OutputTest, ExitCodes) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("x")), kExitPrecondition);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("x")), kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(absl::DeadlineExceededError("x")), kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("x")), kExitRejected);
  EXPECT_EQ(ExitCodeFor(absl::ResourceExhaustedError("x")), kExitRejected);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("x")), kExitServerError);
  EXPECT_EQ(ExitCodeFor(absl::UnauthenticatedError("x")), kExitDenied);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("x")), kExitDenied);
  EXPECT_EQ(CodeName(absl::FailedPreconditionError("x")), "FAILED_PRECONDITION");
}

}  // namespace
}  // namespace kv::kvctl
