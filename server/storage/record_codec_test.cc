#include "server/storage/record_codec.h"

#include <gtest/gtest.h>

namespace kv::server {
namespace {

TEST(RecordCodec, RoundTripsEveryField) {
  RecordView in;
  in.version = 1234567890123ull;
  in.expiration = 1900000000;
  std::string metadata = "meta\0data";
  std::string value(100000, 'v');
  in.metadata = metadata;
  in.value = value;
  std::string encoded;
  EncodeRecord(in, &encoded);
  RecordView out;
  ASSERT_TRUE(DecodeRecord(encoded, &out));
  EXPECT_EQ(out.version, in.version);
  EXPECT_EQ(out.expiration, in.expiration);
  EXPECT_FALSE(out.value_missing);
  EXPECT_EQ(out.metadata, in.metadata);
  EXPECT_EQ(out.value, in.value);
}

TEST(RecordCodec, AMissingValueKeepsItsHash) {
  RecordView in;
  in.version = 9;
  in.value_missing = true;
  in.value_hash = 0x0123456789abcdefull;
  in.metadata = "m";
  std::string encoded;
  EncodeRecord(in, &encoded);
  RecordView out;
  ASSERT_TRUE(DecodeRecord(encoded, &out));
  EXPECT_TRUE(out.value_missing);
  EXPECT_EQ(out.value_hash, in.value_hash);
  EXPECT_TRUE(out.value.empty());
  EXPECT_EQ(out.metadata, "m");
  // A record from before checksums (flag 0x1, nothing after the metadata) still decodes.
  std::string old_format = encoded.substr(0, encoded.size() - 8);
  old_format[0] = 0x1;
  ASSERT_TRUE(DecodeRecord(old_format, &out));
  EXPECT_TRUE(out.value_missing);
  EXPECT_EQ(out.value_hash, 0u);
}

TEST(RecordCodec, EmptyValueAndMetadata) {
  RecordView in;
  in.version = 1;
  std::string encoded;
  EncodeRecord(in, &encoded);
  RecordView out;
  ASSERT_TRUE(DecodeRecord(encoded, &out));
  EXPECT_EQ(out.version, 1u);
  EXPECT_EQ(out.expiration, 0);
  EXPECT_FALSE(out.value_missing);
  EXPECT_TRUE(out.metadata.empty());
  EXPECT_TRUE(out.value.empty());
}

TEST(RecordCodec, RejectsTruncatedInput) {
  RecordView in;
  in.version = 300;
  std::string metadata = "0123456789";
  in.metadata = metadata;
  std::string encoded;
  EncodeRecord(in, &encoded);
  RecordView out;
  EXPECT_FALSE(DecodeRecord("", &out));
  // Cut inside the metadata: its length no longer fits.
  EXPECT_FALSE(DecodeRecord(absl::string_view(encoded).substr(0, encoded.size() - 3), &out));
  // Cut inside a varint.
  EXPECT_FALSE(DecodeRecord(absl::string_view(encoded).substr(0, 2), &out));
}

TEST(RecordCodec, ExpiryIsJudgedAgainstTheGivenClock) {
  RecordView r;
  EXPECT_FALSE(r.ExpiredAt(2000000000));  // 0 = never
  r.expiration = 100;
  EXPECT_FALSE(r.ExpiredAt(99));
  EXPECT_TRUE(r.ExpiredAt(100));
  EXPECT_TRUE(r.ExpiredAt(101));
}

}  // namespace
}  // namespace kv::server
