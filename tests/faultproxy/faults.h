#pragma once
// Value types shared by the fault proxy, its sessions and its control interface: which way bytes
// flow, the faults applied to each way, and the counters.

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kv::testing {

// A connection has two directions; every fault is set per direction.
enum class Direction { kClientToServer = 0, kServerToClient = 1 };

inline constexpr std::array<Direction, 2> kBothDirections = {Direction::kClientToServer,
                                                             Direction::kServerToClient};

// "c2s" / "s2c".
absl::string_view DirectionName(Direction dir);

// The faults applied to one direction of every connection.
struct DirectionFaults {
  // One-way delay added to every chunk of bytes, measured from its arrival at the proxy.
  absl::Duration delay = absl::ZeroDuration();
  // Each chunk's delay is delay + a uniform sample in [-jitter, +jitter] (clamped at 0), but a
  // chunk never overtakes an earlier one, so the stream stays in order.
  absl::Duration jitter = absl::ZeroDuration();
  // Token-bucket cap shared by all connections in this direction; 0 = unlimited.
  uint64_t bytes_per_second = 0;
  // Hold bytes (connections stay open) until resumed.
  bool paused = false;
};

struct FaultSettings {
  // Indexed by Direction.
  std::array<DirectionFaults, 2> dir;
  // New connections are accepted and reset at once; existing ones are untouched.
  bool refuse_new = false;

  DirectionFaults& operator[](Direction d) { return dir[static_cast<int>(d)]; }
  const DirectionFaults& operator[](Direction d) const { return dir[static_cast<int>(d)]; }

  // One line of key=value pairs, bandwidth in bytes per second (0 = unlimited):
  // "c2s_delay=100ms c2s_jitter=0 c2s_bandwidth=0 c2s_paused=0 s2c_delay=... refuse_new=0".
  std::string ToString() const;
};

struct FaultProxyStats {
  // Client connections accepted (including refused ones).
  uint64_t connections_accepted = 0;
  // Connections currently proxied.
  uint64_t connections_active = 0;
  // Accepted while RefuseNew(true), then reset at once.
  uint64_t connections_refused = 0;
  // Closed by CutAll().
  uint64_t connections_cut = 0;
  // Connections whose target could not be reached.
  uint64_t connect_failures = 0;
  // Bytes written to the far side, per direction (indexed by Direction).
  std::array<uint64_t, 2> bytes_forwarded = {0, 0};
  // Bytes read but not yet written, per direction, over all connections.
  std::array<uint64_t, 2> bytes_queued = {0, 0};

  uint64_t forwarded(Direction d) const { return bytes_forwarded[static_cast<int>(d)]; }
  uint64_t queued(Direction d) const { return bytes_queued[static_cast<int>(d)]; }

  // One line of key=value pairs:
  // "accepted=3 active=1 refused=0 cut=1 connect_failures=0 c2s_bytes=10 s2c_bytes=10 ...".
  std::string ToString() const;
};

}  // namespace kv::testing
