#pragma once
// A look at the commands buffered behind the one being run, for hints only: a connection that
// pipelines GETs tells the node which keys it will read next (Node::PrefetchReads), so their
// cache misses overlap instead of following one another. Nothing here decides what a command
// does: the RequestParser parses every command again when its turn comes.
//
// Reads untrusted bytes: every length is checked against the bytes present, nothing is
// allocated on a length the client claims, and anything unusual (an inline command, a partial
// or malformed one, more than kMaxLookaheadArgs arguments) ends the look.

#include <cstddef>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kv::server::resp {

// Commands of more arguments end the look (an MGET of up to 127 keys is seen whole).
inline constexpr size_t kMaxLookaheadArgs = 128;

// Calls fn(args) for each complete multibulk command at the front of `bytes`, in order, at
// most `max_commands`; `args` (views into `bytes`) are valid during the call. Returns how many
// it saw.
size_t ScanAhead(absl::string_view bytes, size_t max_commands,
                 absl::FunctionRef<void(absl::Span<const absl::string_view> args)> fn);

}  // namespace kv::server::resp
