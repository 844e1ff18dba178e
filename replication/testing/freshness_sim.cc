#include "replication/testing/freshness_sim.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <queue>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "replication/freshness.h"

namespace kv::testing {
namespace {

using replication::FreshnessTracker;

// A node's own monotonic clock: the shared time plus a fixed offset.
class OffsetClock final : public Clock {
 public:
  OffsetClock(Clock* base, int64_t offset) : base_(base), offset_(offset) {}
  int64_t MonotonicMicros() override { return base_->MonotonicMicros() + offset_; }
  int64_t UnixSeconds() override { return base_->UnixSeconds(); }

 private:
  Clock* const base_;
  const int64_t offset_;
};

struct Node {
  int64_t offset = 0;
  std::unique_ptr<OffsetClock> clock;
  std::unique_ptr<FreshnessTracker> tracker;  // null at the central node
  uint64_t applied = 0;
  // The ordered stream from the upstream: nothing on it is delivered before this (true time).
  int64_t stream_free_at = 0;
};

class Sim {
 public:
  explicit Sim(const FreshnessSimOptions& options) : o_(options), rng_(options.seed) {
    origin_ = base_.MonotonicMicros();
    std::uniform_int_distribution<int64_t> offset(-1'000'000'000'000, 1'000'000'000'000);
    nodes_.resize(o_.relays + 2);
    for (size_t i = 0; i < nodes_.size(); ++i) {
      nodes_[i].offset = offset(rng_);
      nodes_[i].clock = std::make_unique<OffsetClock>(&base_, nodes_[i].offset);
      if (i > 0) nodes_[i].tracker = std::make_unique<FreshnessTracker>(nodes_[i].clock.get());
    }
  }

  FreshnessSimResult Run() {
    At(1 + Gap(), [this] { Commit(); });
    for (size_t i = 1; i < nodes_.size(); ++i) {
      At(std::uniform_int_distribution<int64_t>(0, o_.ping_interval_micros)(rng_),
         [this, i] { Ping(i); });
    }
    const int64_t end = o_.commit_micros + o_.quiet_micros;
    constexpr uint64_t kMaxEvents = 5'000'000;
    while (!events_.empty() && events_.top().at <= end && result_.events < kMaxEvents) {
      Event e = events_.top();
      events_.pop();
      base_.AdvanceMicros(e.at - now_);
      now_ = e.at;
      ++result_.events;
      e.fn();
    }
    base_.AdvanceMicros(end - now_);
    now_ = end;
    Check("end");
    for (size_t i = 1; i < nodes_.size(); ++i) {
      result_.final_applied.push_back(nodes_[i].applied);
      result_.final_staleness_micros.push_back(nodes_[i].tracker->StalenessMicros());
    }
    result_.commits = commit_times_.size();
    return result_;
  }

 private:
  struct Event {
    int64_t at;
    uint64_t seq;
    std::function<void()> fn;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  void At(int64_t at, std::function<void()> fn) {
    events_.push(Event{std::max(at, now_), seq_++, std::move(fn)});
  }
  int64_t Delay() {
    int64_t d = std::uniform_int_distribution<int64_t>(1, o_.max_delay_micros)(rng_);
    if (std::bernoulli_distribution(o_.spike_probability)(rng_)) {
      d += std::uniform_int_distribution<int64_t>(0, o_.spike_micros)(rng_);
    }
    return d;
  }
  int64_t Gap() {
    double g = std::exponential_distribution<double>(1.0 / o_.mean_commit_gap_micros)(rng_);
    return 1 + static_cast<int64_t>(g);
  }

  void Commit() {
    if (now_ >= o_.commit_micros) return;
    uint64_t v = ++nodes_[0].applied;
    commit_times_.push_back(now_);
    Send(1, v);
    At(now_ + Gap(), [this] { Commit(); });
  }

  // The upstream of node `to` sends it change `v` on their ordered stream.
  void Send(size_t to, uint64_t v) {
    Node& n = nodes_[to];
    n.stream_free_at = std::max(n.stream_free_at, now_ + Delay());
    At(n.stream_free_at, [this, to, v] { Deliver(to, v); });
  }

  void Deliver(size_t to, uint64_t v) {
    Node& n = nodes_[to];
    if (v != n.applied + 1) {
      Violation(absl::StrCat("simulation error: node ", to, " got ", v, " after ", n.applied));
      return;
    }
    n.applied = v;
    n.tracker->OnApplied(v);
    Check("apply");
    if (to + 1 < nodes_.size()) Send(to + 1, v);  // a relay passes each change on as it applies
  }

  void Ping(size_t from) {
    if (now_ >= o_.commit_micros + o_.quiet_micros) return;
    int64_t t0 = nodes_[from].tracker->PingTime();
    At(now_ + Delay(), [this, from, t0] { Answer(from, t0); });
    int64_t jitter = o_.ping_interval_micros / 5;
    At(now_ + o_.ping_interval_micros +
           std::uniform_int_distribution<int64_t>(-jitter, jitter)(rng_),
       [this, from] { Ping(from); });
  }

  // The ping of node `from` reaches its upstream, which answers: its staleness first, then
  // its head (as the publisher reads them).
  void Answer(size_t from, int64_t t0) {
    const Node& up = nodes_[from - 1];
    int64_t s_up = up.tracker ? up.tracker->StalenessMicros() : 0;
    if (o_.relay_hides_its_staleness && s_up != FreshnessTracker::kNeverFresh) s_up = 0;
    uint64_t head = up.applied;
    Node& n = nodes_[from];
    int64_t at = now_ + Delay();
    if (!o_.pongs_overtake_changes) {
      n.stream_free_at = std::max(n.stream_free_at, at);
      at = n.stream_free_at;
    }
    At(at, [this, from, t0, head, s_up] {
      Node& n = nodes_[from];
      if (head > n.applied) ++result_.early_answers;
      uint64_t applied = o_.count_answers_before_applying ? std::max(head, n.applied) : n.applied;
      n.tracker->OnPong(t0, head, s_up, applied);
      Check("answer");
    });
  }

  // Every version committed before a node's fresh_as_of (in true time) must be applied there.
  void Check(const char* where) {
    for (size_t i = 1; i < nodes_.size(); ++i) {
      const Node& n = nodes_[i];
      int64_t f = n.tracker->FreshAsOfMicros();
      if (f == std::numeric_limits<int64_t>::min()) continue;
      ++result_.checks;
      int64_t f_true = f - n.offset - origin_;
      uint64_t covered = std::lower_bound(commit_times_.begin(), commit_times_.end(), f_true) -
                         commit_times_.begin();
      if (f_true > now_) {
        Violation(absl::StrCat("at t=", now_, " (", where, ") node ", i,
                               " is fresh as of the future t=", f_true));
      } else if (covered > n.applied) {
        Violation(absl::StrCat("at t=", now_, " (", where, ") node ", i,
                               " is fresh as of t=", f_true, " (staleness ",
                               n.tracker->StalenessMicros(), "us), which needs version ", covered,
                               ", but it applied only ", n.applied));
      }
    }
  }

  void Violation(std::string what) {
    if (result_.violations++ == 0) result_.first_violation = std::move(what);
  }

  const FreshnessSimOptions o_;
  std::mt19937_64 rng_;
  ManualClock base_;
  int64_t origin_ = 0;
  int64_t now_ = 0;  // true time since the start, microseconds
  uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, Later> events_;
  std::vector<Node> nodes_;
  std::vector<int64_t> commit_times_;
  FreshnessSimResult result_;
};

}  // namespace

FreshnessSimResult RunFreshnessSim(const FreshnessSimOptions& options) {
  return Sim(options).Run();
}

}  // namespace kv::testing
