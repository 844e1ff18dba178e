#include "server/kvd/descriptor_limit.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace kv::server {
namespace {

// Below this many, a derived cap would starve gRPC; split what is left instead.
constexpr uint64_t kMinDerivedConnections = 16;
// Same bound as the other listeners' caps.
constexpr uint64_t kMaxConnections = 1'000'000;

// The kernel's ceiling for RLIMIT_NOFILE (an unlimited hard limit cannot be used as is).
uint64_t NrOpen() {
  std::ifstream in("/proc/sys/fs/nr_open");
  uint64_t n = 0;
  return in >> n ? n : 1u << 20;
}

}  // namespace

DescriptorLimit RaiseDescriptorLimit() {
  DescriptorLimit out;
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    KV_LOG(WARN) << "cannot read the descriptor limit: " << std::strerror(errno);
    return out;
  }
  out.soft_before = limit.rlim_cur;
  out.limit = limit.rlim_cur;
  const uint64_t target = limit.rlim_max == RLIM_INFINITY ? NrOpen() : limit.rlim_max;
  if (target > limit.rlim_cur) {
    struct rlimit raised = limit;
    raised.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      out.limit = target;
    } else {
      KV_LOG(WARN) << "cannot raise the descriptor limit from " << limit.rlim_cur << " to "
                   << target << ": " << std::strerror(errno);
    }
  }
  if (out.limit != out.soft_before) {
    KV_LOG(INFO) << "descriptor limit " << out.limit << " (raised from " << out.soft_before << ")";
  } else {
    KV_LOG(INFO) << "descriptor limit " << out.limit;
  }
  return out;
}

absl::StatusOr<ConnectionBudget> GrpcConnectionBudget(int requested, uint64_t limit,
                                                      uint64_t other_connections) {
  if (requested < 0 || static_cast<uint64_t>(requested) > kMaxConnections) {
    return absl::InvalidArgumentError("--max-connections must be 0..1000000 (0 = derived)");
  }
  if (limit < kReservedDescriptors + 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("the descriptor limit (RLIMIT_NOFILE) is ", limit, ": kvd needs at least ",
                     kReservedDescriptors + 2, "; raise it (ulimit -n, systemd LimitNOFILE=)"));
  }
  const uint64_t budget = limit - kReservedDescriptors;
  ConnectionBudget out;
  if (requested > 0) {
    if (static_cast<uint64_t>(requested) > budget) {
      return absl::InvalidArgumentError(
          absl::StrCat("--max-connections ", requested, " does not fit under the descriptor limit ",
                       limit, " less ", kReservedDescriptors, " reserved (at most ", budget,
                       "); lower it or raise the limit (ulimit -n, systemd LimitNOFILE=)"));
    }
    out.max_connections = requested;
  } else if (budget >= other_connections + kMinDerivedConnections) {
    // A third of what is left stays free: connections refused at the cap keep their descriptor
    // until gRPC closes them after its accept loop, and a burst must not reach EMFILE meanwhile.
    const uint64_t left = budget - other_connections;
    out.max_connections = static_cast<int>(
        std::min<uint64_t>(std::max(kMinDerivedConnections, left - left / 3), kMaxConnections));
  } else {
    out.max_connections = static_cast<int>(std::min<uint64_t>(budget / 2, kMaxConnections));
  }
  if (out.max_connections + other_connections > budget) {
    out.warning = absl::StrCat(
        "the connection caps (gRPC ", out.max_connections, ", HTTP and RESP ", other_connections,
        ") exceed the descriptor limit ", limit, " less ", kReservedDescriptors,
        " reserved: a flood of HTTP or RESP connections can leave gRPC without descriptors "
        "(readiness then turns false); lower --http-max-connections / --resp-max-connections "
        "or raise the limit");
  }
  return out;
}

}  // namespace kv::server
