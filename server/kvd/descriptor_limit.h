#pragma once
// The process's descriptor limit (RLIMIT_NOFILE) and the gRPC connection cap that fits under it
// (docs/faults.md, "File descriptors and connections"). gRPC 1.51's listener stops accepting for
// good after one accept4 fails with EMFILE, so every descriptor the node may use must fit under
// the limit: the gRPC cap, the HTTP and RESP caps, and a reserve for the rest of the process
// (RocksDB's files, the upstream channel, the readiness self-check, epoll and event fds).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace kv::server {

// Descriptors kept for everything but the listeners' connections.
inline constexpr uint64_t kReservedDescriptors = 64;

struct DescriptorLimit {
  uint64_t soft_before = 0;  // the soft limit kvd was started with
  uint64_t limit = 0;        // the soft limit now (the hard limit, when it could be raised)
};

// Raises the soft RLIMIT_NOFILE to the hard limit (to fs.nr_open when the hard one is
// unlimited) and logs the result once. Never fails: on error the limit stays as it was.
DescriptorLimit RaiseDescriptorLimit();

struct ConnectionBudget {
  int max_connections = 0;
  // Set when the listeners' caps together exceed the limit (logged as a warning).
  std::string warning;
};

// The gRPC connection cap: `requested` (--max-connections; 0 = derive it), checked to fit under
// `limit` less kReservedDescriptors. The derived cap is two thirds of what the HTTP and RESP caps
// (`other_connections`, 0 for listeners that are off) leave (the last third absorbs refused
// connections gRPC has not closed yet during a burst); when they leave less than a
// sensible minimum, half of what is left after the reserve. Errors name the flag and the limit.
absl::StatusOr<ConnectionBudget> GrpcConnectionBudget(int requested, uint64_t limit,
                                                      uint64_t other_connections);

}  // namespace kv::server
