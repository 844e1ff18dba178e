#pragma once
// `kvbench lag`: how long after a write is acknowledged by the central node each edge serves it.
//
// Method: a paced open-loop writer keeps `rate` writes/s going to the central node. Meanwhile a
// probe writes one key at the central node, and the moment the acknowledgement arrives it starts
// polling every edge with plain Gets of that key (bounded reads with a huge staleness bound, so
// the edge answers from its own store and never forwards; an answer that was forwarded anyway is
// not counted as visible). Each edge has one poll in flight at a time, back to back, all on one
// CompletionQueue. The first poll that returns the probe's version, served by the edge itself,
// ends that edge's sample:
//   lag (upper bound) = arrival of that poll's answer - acknowledgement
//   lag (lower bound) = sending of the last poll the edge answered without the version
//                       - acknowledgement (0 when there was none)
//   lag (estimate)    = middle of the seeing poll's round trip - acknowledgement, within bounds
// The true ack->visible time lies between the bounds; their gap is about one poll round trip,
// which is the method's resolution and is reported. The estimate assumes the edge answered
// half-way through the round trip (loopback is symmetric); it is at most half a round trip off.
// Samples are spaced by a jittered interval so they do not lock onto the edges' ping period or the
// central node's group commits.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/kvbench/histogram.h"
#include "bench/kvbench/keys.h"
#include "bench/kvbench/paced_writer.h"
#include "nlohmann/json.hpp"

namespace kv::kvbench {

struct LagOptions {
  // HOST:PORT of the central node: background and probe writes go there.
  std::string central;
  // HOST:PORT of every edge to measure.
  std::vector<std::string> edges;
  // Background writes (rate, value size, ...); their keys come from `keys`.
  PacedWriterOptions background;
  KeySpaceOptions keys;
  // Probes measured (after one unmeasured probe that checks every edge replicates).
  int samples = 200;
  // Mean gap between probes; each gap is drawn from [0.5, 1.5] x this.
  absl::Duration interval = absl::Milliseconds(10);
  // Background writes run this long before the first probe.
  absl::Duration warmup = absl::Seconds(1);
  // An edge that has not served the probe this long after the acknowledgement is a timeout.
  absl::Duration sample_timeout = absl::Seconds(5);
  // Deadline of probe writes and of each poll.
  absl::Duration timeout = absl::Seconds(5);
  absl::Duration connect_timeout = absl::Seconds(10);
  // Staleness bound sent with polls: large, so an edge answers locally instead of forwarding.
  absl::Duration poll_max_staleness = absl::Hours(1);
  uint64_t seed = 1;
  bool progress = true;
  absl::Duration progress_interval = absl::Seconds(1);
};

struct EdgeLag {
  std::string target;
  Histogram lag_ns;        // upper bound per sample
  Histogram lag_lower_ns;  // lower bound per sample
  Histogram lag_mid_ns;    // estimate per sample
  Histogram poll_rtt_ns;   // every poll's round trip: the resolution
  uint64_t samples = 0;    // visible within the timeout
  uint64_t timeouts = 0;
  uint64_t polls = 0;
  uint64_t forwarded = 0;  // answers the edge forwarded upstream (not counted as visible)
  uint64_t errors = 0;
  std::string first_error;
};

struct LagReport {
  std::vector<EdgeLag> edges;
  PacedWriterStats background;
  Histogram probe_put_ns;
  uint64_t probe_errors = 0;
  std::string probe_first_error;
  std::array<double, 3> load_average_before{};
  std::array<double, 3> load_average_after{};
};

absl::StatusOr<LagReport> RunLag(const LagOptions& options);

nlohmann::json LagReportJson(const LagOptions& options, const LagReport& report);
std::string LagReportText(const LagOptions& options, const LagReport& report);

}  // namespace kv::kvbench
