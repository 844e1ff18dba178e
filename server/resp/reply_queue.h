#pragma once
// Keeps a connection's replies in command order while the node completes commands in any order.
// Each dispatched command reserves a slot (its sequence number); completing a slot moves every
// leading completed reply into the connection's output, so a reply is never written before the
// replies of earlier commands.
//
// Thread-compatible: the connection's I/O thread owns it.

#include <cstddef>
#include <cstdint>
#include <deque>

#include "server/resp/reply_buffer.h"

namespace kv::server::resp {

class ReplyQueue {
 public:
  // A new slot for the next command; returns its sequence number.
  uint64_t Reserve();
  // Fills slot `seq` with `*reply` (emptied; it keeps its memory when its bytes went straight to
  // `out`), then moves the completed replies at the front into `out`. Completing a slot twice,
  // or one never reserved, is ignored.
  void Complete(uint64_t seq, ReplyBuffer* reply, ReplyBuffer* out);

  // Slots reserved and not yet moved out (commands whose reply is not in the output).
  size_t pending() const { return slots_.size(); }
  // Bytes of completed replies waiting behind an unfinished one.
  size_t held_bytes() const { return held_bytes_; }

 private:
  struct Slot {
    bool done = false;
    ReplyBuffer reply;
  };

  uint64_t next_seq_ = 0;   // the next Reserve's number
  uint64_t first_seq_ = 0;  // the number of slots_.front()
  std::deque<Slot> slots_;
  size_t held_bytes_ = 0;
};

}  // namespace kv::server::resp
