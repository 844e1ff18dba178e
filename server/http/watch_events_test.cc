#include "server/http/watch_events.h"

#include <gtest/gtest.h>

namespace kv::server {
namespace {

TEST(WatchEventsTest, ACommitIsOneChunkWithTheResumeIdOnItsLastEvent) {
  kvstore::v1::WatchResponse r;
  r.set_applied_version(9);
  for (const char* key : {"a", "b"}) {
    auto* e = r.add_events();
    e->set_type(kvstore::v1::WatchEvent::TYPE_PUT);
    e->set_key(key);
    e->set_value("v");
    e->set_value_size(1);
    e->set_version(9);
  }
  EXPECT_EQ(
      FormatWatchEvents(r),
      "event: put\n"
      "data: {\"key\":\"a\",\"type\":\"put\",\"value\":\"v\",\"value_size\":1,\"version\":9}\n\n"
      "event: put\n"
      "id: 9\n"
      "data: {\"key\":\"b\",\"type\":\"put\",\"value\":\"v\",\"value_size\":1,\"version\":9}\n\n");
}

TEST(WatchEventsTest, BytesThatAreNotUtf8AreBase64AndOmittedValuesSaySo) {
  kvstore::v1::WatchResponse r;
  r.set_applied_version(4);
  auto* e = r.add_events();
  e->set_type(kvstore::v1::WatchEvent::TYPE_PUT);
  e->set_key(std::string("\xff\x01", 2));
  e->set_value_omitted(true);
  e->set_value_size(1 << 20);
  e->set_version(4);
  const std::string text = FormatWatchEvents(r);
  EXPECT_NE(text.find("\"key_base64\":\"/wE=\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"value_omitted\":true"), std::string::npos) << text;
  EXPECT_EQ(text.find("\"value\":"), std::string::npos) << text;
  e->set_key("caf\xc3\xa9");  // UTF-8 stays text
  EXPECT_NE(FormatWatchEvents(r).find("\"key\":\"caf\xc3\xa9\""), std::string::npos);
}

TEST(WatchEventsTest, AProgressMessageIsOneEventWithTheAppliedVersion) {
  kvstore::v1::WatchResponse r;
  r.set_applied_version(12);
  r.set_staleness_micros(2500);
  r.set_node_id("edge-a");
  EXPECT_EQ(FormatWatchEvents(r),
            "event: progress\nid: 12\n"
            "data: {\"applied_version\":12,\"node_id\":\"edge-a\",\"staleness_ms\":2.5}\n\n");
}

}  // namespace
}  // namespace kv::server
