#pragma once
// A discrete-event simulation of the freshness protocol (docs/design.md, "Freshness and
// consistency") over a chain central -> relay... -> edge, driven by one ManualClock. Every node
// has its own monotonic clock (the shared time plus a large random offset: no clock sync). The
// central node commits versions at random times; every other node pings its upstream, which
// answers with its head and its own staleness; changes, pings and answers travel with random
// delays (changes in order, as on one stream). After every event the simulation checks the
// property the design promises: each node's fresh_as_of never exceeds the point in true time
// up to which it holds every committed version.

#include <cstdint>
#include <string>
#include <vector>

namespace kv::testing {

struct FreshnessSimOptions {
  uint64_t seed = 1;
  // Nodes between the central node and the edge (0 = the edge follows the central node).
  int relays = 0;
  // Answers travel apart from the stream and may overtake its changes (otherwise they share
  // the ordered stream, as the publisher sends them).
  bool pongs_overtake_changes = false;
  // The central node commits during this long, then the simulation runs `quiet_micros` more.
  int64_t commit_micros = 2'000'000;
  int64_t quiet_micros = 1'500'000;
  int64_t mean_commit_gap_micros = 4'000;
  int64_t ping_interval_micros = 50'000;  // +-20% jitter
  // One-way delay of each message: uniform in [1, max_delay], plus rarely a spike.
  int64_t max_delay_micros = 20'000;
  int64_t spike_micros = 300'000;
  double spike_probability = 0.03;
  // Deliberately broken behaviour, to show the check can fail:
  bool relay_hides_its_staleness = false;      // relays answer with s_up = 0
  bool count_answers_before_applying = false;  // answers counted as if their head was applied
};

struct FreshnessSimResult {
  uint64_t events = 0;
  uint64_t checks = 0;
  uint64_t violations = 0;
  std::string first_violation;
  uint64_t commits = 0;
  // Answers that arrived before the node had applied their head (pending in the tracker).
  uint64_t early_answers = 0;
  // Per non-central node, nearest the central node first (the last one is the edge).
  std::vector<uint64_t> final_applied;
  std::vector<int64_t> final_staleness_micros;
};

FreshnessSimResult RunFreshnessSim(const FreshnessSimOptions& options);

}  // namespace kv::testing
