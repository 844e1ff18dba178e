#pragma once
// The request parser's hard limits (request_parser.h). Apart from resp_options.h so the parser
// (and its fuzz target) builds without the node's protobuf types.

#include <cstddef>

namespace kv::server::resp {

// Hard limits of the request parser: nothing is allocated on the strength of a length the client
// claims, only for bytes that arrived, and a claim over a limit is refused at once.
struct ParserLimits {
  // Most arguments in one command, the name included (MGET of 1,000,000 keys).
  size_t max_args = 1'000'001;
  // Largest bulk string ($N): the node's largest value plus slack for the other arguments.
  size_t max_bulk_bytes = (size_t{25} << 20) + 64 * 1024;
  // Longest inline command line (telnet-style "GET a\r\n").
  size_t max_inline_bytes = 64 * 1024;
  // Largest command, all arguments and framing together.
  size_t max_command_bytes = size_t{64} << 20;
};

}  // namespace kv::server::resp
