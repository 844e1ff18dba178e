#include "server/resp/request_parser_fuzz.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/resp/lookahead.h"
#include "server/resp/request_parser.h"

namespace kv::server::resp {
namespace {

#define RESP_FUZZ_CHECK(cond)                                                           \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

ParserLimits LimitsFor(uint8_t selector) {
  ParserLimits limits;
  if (selector & 1) {
    limits.max_args = 1 + (selector >> 1) % 8;
    limits.max_bulk_bytes = 1 + (selector >> 4) * 4;
    limits.max_inline_bytes = 16 + (selector >> 3) % 32;
    limits.max_command_bytes = limits.max_bulk_bytes + 2 + (selector >> 2) * 8;
  }
  return limits;
}

struct Outcome {
  std::vector<std::vector<std::string>> commands;
  bool error = false;
};

// Drains every command the parser holds, checking the per-command invariants.
void Drain(RequestParser& parser, const ParserLimits& limits, Outcome* out) {
  while (!out->error) {
    const RequestParser::Result r = parser.Next();
    if (r == RequestParser::Result::kNeedMore) return;
    if (r == RequestParser::Result::kError) {
      RESP_FUZZ_CHECK(!parser.error().empty());
      RESP_FUZZ_CHECK(parser.Next() == RequestParser::Result::kError);
      out->error = true;
      return;
    }
    RESP_FUZZ_CHECK(!parser.args().empty());
    RESP_FUZZ_CHECK(parser.args().size() <= limits.max_args);
    std::vector<std::string> command;
    for (absl::string_view a : parser.args()) {
      RESP_FUZZ_CHECK(a.size() <= limits.max_bulk_bytes || a.size() <= limits.max_inline_bytes);
      command.emplace_back(a);
    }
    out->commands.push_back(std::move(command));
    parser.Consume();
  }
}

}  // namespace

int FuzzRequestParser(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const ParserLimits limits = LimitsFor(data[0]);
  std::vector<absl::string_view> pieces;
  std::string all;
  for (size_t at = 1; at < size;) {
    const size_t length = std::min<size_t>(data[at], size - at - 1);
    pieces.emplace_back(reinterpret_cast<const char*>(data) + at + 1, length);
    all.append(pieces.back().data(), pieces.back().size());
    at += 1 + length;
  }

  Outcome split;
  RequestParser parser(limits);
  size_t fed = 0;
  for (absl::string_view piece : pieces) {
    if (split.error) break;
    parser.Append(piece);
    fed += piece.size();
    Drain(parser, limits, &split);
    RESP_FUZZ_CHECK(parser.capacity() <= 2 * (fed + RequestParser::kReadBytes));
  }

  Outcome whole;
  RequestParser one(limits);
  one.Append(all);
  Drain(one, limits, &whole);

  RESP_FUZZ_CHECK(split.error == whole.error);
  RESP_FUZZ_CHECK(split.commands == whole.commands);

  // The lookahead (a hint) sees a prefix of what the parser parses, under the default limits.
  std::vector<std::vector<std::string>> ahead;
  ScanAhead(all, 1000, [&](absl::Span<const absl::string_view> args) {
    RESP_FUZZ_CHECK(!args.empty() && args.size() <= kMaxLookaheadArgs);
    ahead.emplace_back(args.begin(), args.end());
  });
  if ((data[0] & 1) == 0) {
    RESP_FUZZ_CHECK(ahead.size() <= whole.commands.size());
    for (size_t i = 0; i < ahead.size(); ++i) RESP_FUZZ_CHECK(ahead[i] == whole.commands[i]);
  }
  return 0;
}

}  // namespace kv::server::resp
