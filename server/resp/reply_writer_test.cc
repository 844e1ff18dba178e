#include "server/resp/reply_writer.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/resp/reply_buffer.h"
#include "server/resp/reply_queue.h"

namespace kv::server::resp {
namespace {

std::string Bytes(const ReplyBuffer& buffer) {
  std::string out;
  for (size_t i = 0; i < buffer.segment_count(); ++i) out += std::string(buffer.segment(i));
  return out;
}

template <typename F>
std::string Encode(int protocol, F f) {
  ReplyBuffer buffer;
  ReplyWriter w(&buffer, protocol);
  f(w);
  EXPECT_EQ(Bytes(buffer).size(), buffer.size());
  return Bytes(buffer);
}

TEST(ReplyWriter, SameInBothProtocols) {
  for (int protocol : {2, 3}) {
    EXPECT_EQ(Encode(protocol, [](ReplyWriter& w) { w.Ok(); }), "+OK\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyWriter& w) { w.SimpleString("PONG"); }), "+PONG\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyWriter& w) { w.Error("ERR bad\r\nthing"); }),
              "-ERR bad  thing\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyWriter& w) { w.Integer(-42); }), ":-42\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyWriter& w) { w.Bulk(std::string("a\r\n\0", 4)); }),
              std::string("$4\r\na\r\n\0\r\n", 10));
    EXPECT_EQ(Encode(protocol, [](ReplyWriter& w) { w.Bulk(""); }), "$0\r\n\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyWriter& w) { w.ArrayHeader(2); }), "*2\r\n");
  }
}

TEST(ReplyWriter, Resp2Fallbacks) {
  EXPECT_EQ(Encode(2, [](ReplyWriter& w) { w.Null(); }), "$-1\r\n");
  EXPECT_EQ(Encode(2, [](ReplyWriter& w) { w.NullArray(); }), "*-1\r\n");
  EXPECT_EQ(Encode(2, [](ReplyWriter& w) { w.MapHeader(3); }), "*6\r\n");
  EXPECT_EQ(Encode(2, [](ReplyWriter& w) { w.SetHeader(3); }), "*3\r\n");
  EXPECT_EQ(Encode(2, [](ReplyWriter& w) { w.Boolean(true); }), ":1\r\n");
  EXPECT_EQ(Encode(2, [](ReplyWriter& w) { w.Double(1.5); }), "$3\r\n1.5\r\n");
  EXPECT_EQ(Encode(2, [](ReplyWriter& w) { w.Verbatim("a:b"); }), "$3\r\na:b\r\n");
}

TEST(ReplyWriter, Resp3Types) {
  EXPECT_EQ(Encode(3, [](ReplyWriter& w) { w.Null(); }), "_\r\n");
  EXPECT_EQ(Encode(3, [](ReplyWriter& w) { w.NullArray(); }), "_\r\n");
  EXPECT_EQ(Encode(3, [](ReplyWriter& w) { w.MapHeader(3); }), "%3\r\n");
  EXPECT_EQ(Encode(3, [](ReplyWriter& w) { w.SetHeader(3); }), "~3\r\n");
  EXPECT_EQ(Encode(3, [](ReplyWriter& w) { w.Boolean(false); }), "#f\r\n");
  EXPECT_EQ(Encode(3, [](ReplyWriter& w) { w.Double(0.1); }), ",0.1\r\n");
  EXPECT_EQ(Encode(3, [](ReplyWriter& w) { w.Verbatim("a:b"); }), "=7\r\ntxt:a:b\r\n");
}

TEST(ReplyBuffer, LargeValuesAreMovedNotCopied) {
  ReplyBuffer buffer;
  ReplyWriter w(&buffer, 2);
  std::string big(1 << 20, 'x');
  const char* data = big.data();
  w.BulkOwned(std::move(big));
  ASSERT_EQ(buffer.segment_count(), 3u);  // header, the value itself, CRLF
  EXPECT_EQ(buffer.segment(1).data(), data);
  EXPECT_EQ(buffer.size(), (1u << 20) + 12);  // "$1048576\r\n" + value + CRLF

  ReplyBuffer out;
  out.Append("+OK\r\n");
  out.Append(std::move(buffer));
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(out.segment(1).data(), data);
  out.Consume(5 + 10 + 100);
  EXPECT_EQ(out.segment(0).size(), (1u << 20) - 100);
  out.Consume(out.size());
  EXPECT_TRUE(out.empty());
}

TEST(ReplyBuffer, SealedSegmentsAreNotAppendedTo) {
  ReplyBuffer out;
  out.Append("abc");
  const absl::string_view first = out.segment(0);
  out.Seal();
  out.Append("def");
  EXPECT_EQ(out.segment(0), "abc");
  EXPECT_EQ(out.segment(0).data(), first.data());
  EXPECT_EQ(out.segment_count(), 2u);
  out.Consume(3);
  out.Append("g");
  EXPECT_EQ(Bytes(out), "defg");
}

TEST(ReplyQueue, RepliesLeaveInCommandOrder) {
  ReplyQueue queue;
  ReplyBuffer out;
  const uint64_t a = queue.Reserve();
  const uint64_t b = queue.Reserve();
  const uint64_t c = queue.Reserve();
  ReplyBuffer rc;
  rc.Append("c");
  queue.Complete(c, &rc, &out);
  ReplyBuffer rb;
  rb.Append("bb");
  queue.Complete(b, &rb, &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(queue.held_bytes(), 3u);
  ReplyBuffer ra;
  ra.Append("a");
  queue.Complete(a, &ra, &out);
  EXPECT_EQ(Bytes(out), "abbc");
  EXPECT_EQ(queue.pending(), 0u);
  EXPECT_EQ(queue.held_bytes(), 0u);
  ReplyBuffer again;
  again.Append("x");
  queue.Complete(b, &again, &out);  // completed twice: ignored
  EXPECT_EQ(Bytes(out), "abbc");
}

}  // namespace
}  // namespace kv::server::resp
