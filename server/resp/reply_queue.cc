#include "server/resp/reply_queue.h"

#include <utility>

namespace kv::server::resp {

uint64_t ReplyQueue::Reserve() {
  slots_.emplace_back();
  return next_seq_++;
}

void ReplyQueue::Complete(uint64_t seq, ReplyBuffer* reply, ReplyBuffer* out) {
  if (seq < first_seq_ || seq >= next_seq_) return;
  Slot& slot = slots_[seq - first_seq_];
  if (slot.done) return;
  slot.done = true;
  if (seq != first_seq_) {
    held_bytes_ += reply->size();
    slot.reply = std::move(*reply);
    return;
  }
  out->Append(std::move(*reply));
  slots_.pop_front();
  ++first_seq_;
  while (!slots_.empty() && slots_.front().done) {
    held_bytes_ -= slots_.front().reply.size();
    out->Append(std::move(slots_.front().reply));
    slots_.pop_front();
    ++first_seq_;
  }
}

}  // namespace kv::server::resp
