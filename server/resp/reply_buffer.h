#pragma once
// Reply bytes as a list of segments: small replies are appended to the last segment, large
// values are moved in as segments of their own (no copy), so a 25 MiB value read from the node
// reaches the socket without being copied. The connection keeps one ReplyBuffer as its output
// and hands the front segments to the socket; Seal() keeps bytes under a write in flight from
// moving.
//
// Thread-compatible.

#include <cstddef>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"

namespace kv::server::resp {

class ReplyBuffer {
 public:
  // Values at least this large are moved into a segment of their own rather than copied.
  static constexpr size_t kOwnSegmentBytes = 16 * 1024;

  ReplyBuffer() = default;
  ReplyBuffer(ReplyBuffer&&) noexcept = default;
  ReplyBuffer& operator=(ReplyBuffer&&) noexcept = default;

  void Append(absl::string_view bytes);
  // Room for `bytes` more in the segment small appends go to (a hint; no effect on content).
  void Reserve(size_t bytes);
  // Appends `bytes`, moved into a segment of its own when large.
  void AppendOwned(std::string&& bytes);
  // Moves `other`'s bytes to the end of this buffer and empties it (small segments are copied,
  // and `other` keeps the memory of its first one for reuse).
  void Append(ReplyBuffer&& other);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void Clear();

  // Writing: the first `count` segments, the first one without the bytes consumed already.
  size_t segment_count() const { return segments_.size(); }
  absl::string_view segment(size_t i) const;
  // Drops `bytes` from the front (what the socket took).
  void Consume(size_t bytes);
  // The current segments must not move (a write over them is in flight): later appends go to
  // new segments. Cleared as the sealed segments are consumed.
  void Seal() { sealed_ = segments_.size(); }
  // Releases memory a large reply left behind in the spare segment.
  void ShrinkSpare();

 private:
  // The segment small appends go to (a new one if the last is sealed or owned).
  std::string& Tail();

  // Usually one segment: no allocation beyond the string. Every segment's bytes are on the
  // heap (moved-in values, and Tail() reserves past the inline storage), so moving the strings
  // when the vector grows leaves sealed bytes where a write in flight expects them.
  absl::InlinedVector<std::string, 1> segments_;
  size_t size_ = 0;
  size_t front_offset_ = 0;  // bytes of segments_.front() already consumed
  size_t sealed_ = 0;        // leading segments that must not be appended to
  bool last_owned_ = false;  // segments_.back() is a moved-in value: start a new one
  std::string spare_;        // a consumed segment's memory, reused by Tail()
};

}  // namespace kv::server::resp
