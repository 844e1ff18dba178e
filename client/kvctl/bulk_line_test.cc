#include "client/kvctl/bulk_line.h"

#include <gtest/gtest.h>

#include <sstream>

namespace kv::kvctl {
namespace {

TEST(BulkLineTest, MinimalLine) {
  absl::StatusOr<BulkRecord> r = ParseBulkLine(R"({"key":"a","value":"1"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->key, "a");
  EXPECT_EQ(r->value, "1");
  EXPECT_EQ(r->options.ttl, absl::ZeroDuration());
  EXPECT_FALSE(r->options.if_version.has_value());
}

TEST(BulkLineTest, AllFields) {
  absl::StatusOr<BulkRecord> r = ParseBulkLine(
      R"({"key":"k","value":"caf\u00e9\u0000","metadata":"m","ttl":"1m30s","if_version":0})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->value, std::string("caf\xc3\xa9\0", 6));
  EXPECT_EQ(r->options.metadata, "m");
  EXPECT_EQ(r->options.ttl, absl::Seconds(90));
  ASSERT_TRUE(r->options.if_version.has_value());
  EXPECT_EQ(*r->options.if_version, 0u);
}

TEST(BulkLineTest, TtlForms) {
  EXPECT_EQ(ParseBulkLine(R"({"key":"k","value":"v","ttl":30})")->options.ttl, absl::Seconds(30));
  EXPECT_EQ(ParseBulkLine(R"({"key":"k","value":"v","ttl":30.0})")->options.ttl, absl::Seconds(30));
  EXPECT_EQ(ParseBulkLine(R"({"key":"k","value":"v","ttl":"30s"})")->options.ttl,
            absl::Seconds(30));
  EXPECT_EQ(ParseBulkLine(R"({"key":"k","value":"v","ttl":"30"})")->options.ttl, absl::Seconds(30));
  EXPECT_EQ(ParseBulkLine(R"({"key":"k","value":"v","ttl":"2h"})")->options.ttl, absl::Hours(2));
  for (const char* bad :
       {R"({"key":"k","value":"v","ttl":0})", R"({"key":"k","value":"v","ttl":-5})",
        R"({"key":"k","value":"v","ttl":1.5})", R"({"key":"k","value":"v","ttl":"500ms"})",
        R"({"key":"k","value":"v","ttl":"soon"})", R"({"key":"k","value":"v","ttl":true})",
        R"({"key":"k","value":"v","ttl":5,"expiration":2000000000})"}) {
    absl::StatusOr<BulkRecord> r = ParseBulkLine(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("ttl"), absl::string_view::npos) << r.status();
  }
}

TEST(BulkLineTest, Base64Fields) {
  absl::StatusOr<BulkRecord> r =
      ParseBulkLine(R"({"key_base64":"AP8=","value_base64":"AAEC/w==","metadata_base64":"bQ=="})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->key, std::string("\0\xff", 2));
  EXPECT_EQ(r->value, std::string("\0\x01\x02\xff", 4));
  EXPECT_EQ(r->options.metadata, "m");
  EXPECT_EQ(ParseBulkLine(R"({"key":"k","value_base64":"!!!"})").status().message(),
            "value_base64: not valid base64");
  EXPECT_EQ(ParseBulkLine(R"({"key":"k","value":"v","value_base64":"dg=="})").status().message(),
            "value and value_base64: give only one");
}

TEST(BulkLineTest, MalformedLinesSayWhy) {
  struct Case {
    const char* line;
    const char* message_start;
  };
  for (const Case& c : {
           Case{R"({"key":"k","value":)", "invalid JSON: "},
           Case{R"(not json)", "invalid JSON: "},
           Case{R"(["k","v"])", "not a JSON object"},
           Case{R"({"value":"v"})", "key: missing"},
           Case{R"({"key":"","value":"v"})", "key: empty"},
           Case{R"({"key":"k"})", "value: missing"},
           Case{R"({"key":"k","value":5})", "value: not a string"},
           Case{R"({"key":"k","value":"v","tll":5})", "unknown field \"tll\""},
           Case{R"({"key":"k","value":"v","if_version":-1})", "if_version: must be"},
           Case{R"({"key":"k","value":"v","expiration":"tomorrow"})", "expiration: must be"},
       }) {
    absl::StatusOr<BulkRecord> r = ParseBulkLine(c.line);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_EQ(r.status().message().substr(0, strlen(c.message_start)), c.message_start)
        << c.line << " -> " << r.status();
  }
}

TEST(BulkLineTest, ReaderNumbersLinesAndFlagsBlanks) {
  std::istringstream in(
      "{\"key\":\"a\",\"value\":\"1\"}\r\n"
      "\n"
      "   \n"
      "{broken\n"
      "{\"key\":\"b\",\"value\":\"2\"}");  // no final newline
  JsonLinesReader reader(in);
  JsonLinesReader::Line line;
  std::vector<std::string> seen;
  while (reader.Next(&line)) {
    if (line.blank) {
      seen.push_back(std::to_string(line.number) + ":blank");
    } else if (!line.record.ok()) {
      seen.push_back(std::to_string(line.number) + ":bad");
    } else {
      seen.push_back(std::to_string(line.number) + ":" + line.record->key);
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"1:a", "2:blank", "3:blank", "4:bad", "5:b"}));
}

TEST(BulkLineTest, PutTtlFlag) {
  EXPECT_EQ(*ParseTtl("30s"), absl::Seconds(30));
  EXPECT_EQ(*ParseTtl("45"), absl::Seconds(45));
  EXPECT_FALSE(ParseTtl("0s").ok());
  EXPECT_FALSE(ParseTtl("2.5s").ok());
  EXPECT_FALSE(ParseTtl("x").ok());
}

}  // namespace
}  // namespace kv::kvctl
