#include "tests/faultproxy/faults.h"

#include "absl/strings/str_cat.h"

namespace kv::testing {

absl::string_view DirectionName(Direction dir) {
  return dir == Direction::kClientToServer ? "c2s" : "s2c";
}

std::string FaultSettings::ToString() const {
  std::string out;
  for (Direction d : kBothDirections) {
    const DirectionFaults& f = (*this)[d];
    absl::string_view n = DirectionName(d);
    absl::StrAppend(&out, n, "_delay=", absl::FormatDuration(f.delay), " ", n,
                    "_jitter=", absl::FormatDuration(f.jitter), " ", n,
                    "_bandwidth=", f.bytes_per_second, " ", n, "_paused=", f.paused ? 1 : 0, " ");
  }
  absl::StrAppend(&out, "refuse_new=", refuse_new ? 1 : 0);
  return out;
}

std::string FaultProxyStats::ToString() const {
  return absl::StrCat("accepted=", connections_accepted, " active=", connections_active,
                      " refused=", connections_refused, " cut=", connections_cut,
                      " connect_failures=", connect_failures,
                      " c2s_bytes=", forwarded(Direction::kClientToServer),
                      " s2c_bytes=", forwarded(Direction::kServerToClient),
                      " c2s_queued=", queued(Direction::kClientToServer),
                      " s2c_queued=", queued(Direction::kServerToClient));
}

}  // namespace kv::testing
