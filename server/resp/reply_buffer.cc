#include "server/resp/reply_buffer.h"

#include <algorithm>
#include <utility>

namespace kv::server::resp {
namespace {
// The spare segment keeps at most this much memory.
constexpr size_t kSpareBytes = 64 * 1024;
// Capacity of a new segment: past std::string's inline storage.
constexpr size_t kMinSegmentBytes = 64;
}  // namespace

std::string& ReplyBuffer::Tail() {
  if (segments_.empty() || segments_.size() <= sealed_ || last_owned_) {
    spare_.clear();
    // Never in the string's inline (SSO) storage: segments_ may reallocate and move the
    // strings, which keeps heap bytes in place but not inline ones, and a write in flight
    // points at the bytes of sealed segments.
    if (spare_.capacity() < kMinSegmentBytes) spare_.reserve(kMinSegmentBytes);
    segments_.push_back(std::move(spare_));
    spare_ = std::string();
    last_owned_ = false;
  }
  return segments_.back();
}

void ReplyBuffer::Append(absl::string_view bytes) {
  if (bytes.empty()) return;
  Tail().append(bytes.data(), bytes.size());
  size_ += bytes.size();
}

void ReplyBuffer::Reserve(size_t bytes) {
  std::string& tail = Tail();
  if (tail.capacity() - tail.size() < bytes) tail.reserve(tail.size() + bytes);
}

void ReplyBuffer::AppendOwned(std::string&& bytes) {
  if (bytes.size() < kOwnSegmentBytes) {
    Append(bytes);
    return;
  }
  size_ += bytes.size();
  segments_.push_back(std::move(bytes));
  last_owned_ = true;
}

void ReplyBuffer::Append(ReplyBuffer&& other) {
  if (&other == this || other.empty()) return;
  for (size_t i = 0; i < other.segments_.size(); ++i) {
    std::string& s = other.segments_[i];
    absl::string_view bytes = s;
    if (i == 0) bytes.remove_prefix(other.front_offset_);
    if (bytes.size() < kOwnSegmentBytes) {
      Append(bytes);
    } else {
      if (i == 0 && other.front_offset_ > 0) s.erase(0, other.front_offset_);
      size_ += s.size();
      segments_.push_back(std::move(s));
      last_owned_ = true;
    }
  }
  // Keep the memory of a first segment that was copied: a pooled reply reuses it.
  if (!other.segments_.empty() && other.segments_[0].capacity() <= kSpareBytes &&
      !other.segments_[0].empty() && other.segments_[0].size() < kOwnSegmentBytes) {
    other.segments_.resize(1);
    other.segments_[0].clear();
  } else {
    other.segments_.clear();
  }
  other.size_ = other.front_offset_ = other.sealed_ = 0;
  other.last_owned_ = false;
}

void ReplyBuffer::Clear() {
  segments_.clear();
  size_ = front_offset_ = sealed_ = 0;
  last_owned_ = false;
}

absl::string_view ReplyBuffer::segment(size_t i) const {
  absl::string_view s = segments_[i];
  if (i == 0) s.remove_prefix(front_offset_);
  return s;
}

void ReplyBuffer::Consume(size_t bytes) {
  bytes = std::min(bytes, size_);
  size_ -= bytes;
  while (bytes > 0) {
    std::string& front = segments_.front();
    const size_t left = front.size() - front_offset_;
    if (bytes < left) {
      front_offset_ += bytes;
      return;
    }
    bytes -= left;
    front_offset_ = 0;
    if (front.capacity() <= kSpareBytes && front.capacity() > spare_.capacity()) {
      spare_ = std::move(front);
    }
    segments_.erase(segments_.begin());
    if (sealed_ > 0) --sealed_;
    if (segments_.empty()) last_owned_ = false;
  }
  // Drop emptied segments at the front (an empty tail stays: it may be appended to).
  while (segments_.size() > 1 && segments_.front().size() == front_offset_) {
    segments_.erase(segments_.begin());
    front_offset_ = 0;
    if (sealed_ > 0) --sealed_;
  }
}

void ReplyBuffer::ShrinkSpare() { std::string().swap(spare_); }

}  // namespace kv::server::resp
