#pragma once
// Test helpers for the replication layer: change builders and an in-memory ChangeApplier that
// records every call, so tests can see exactly what the stream rules let through.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kvstore/v1/replication.pb.h"
#include "replication/change_applier.h"

namespace kv::testing {

using kvstore::v1::Change;

inline Change MakePut(uint64_t version, const std::string& key, const std::string& value) {
  Change c;
  c.set_version(version);
  c.set_kind(Change::KIND_PUT);
  c.set_key(key);
  c.set_value(value);
  return c;
}

inline Change MakeDelete(uint64_t version, const std::string& key) {
  Change c;
  c.set_version(version);
  c.set_kind(Change::KIND_DELETE);
  c.set_key(key);
  return c;
}

// Puts of "k<version>" = "v<version>" for versions from..to, added to `message`.
template <typename Message>
void AddPuts(uint64_t from, uint64_t to, Message* message) {
  for (uint64_t v = from; v <= to; ++v) {
    *message->add_changes() = MakePut(v, absl::StrCat("k", v), absl::StrCat("v", v));
  }
}

// An in-memory applier. Thread-safe: the subscriber's threads and the test both call it. It
// implements both ways of starting over; snapshots() or head() (one of them null, by
// Options::holds_everything) is what a Subscriber or StreamReceiver under test is given.
class FakeApplier final : public replication::ChangeApplier,
                          public replication::SnapshotTarget,
                          public replication::HeadFollower {
 public:
  struct Options {
    bool holds_everything = true;  // full edge (snapshots) or cache edge (starts from the head)
    uint64_t applied = 0;
    std::string cluster_id;
    bool needs_bootstrap = false;

    Options& set_holds_everything(bool v) { return holds_everything = v, *this; }
    Options& set_applied(uint64_t v) { return applied = v, *this; }
    Options& set_cluster_id(std::string v) { return cluster_id = std::move(v), *this; }
    Options& set_needs_bootstrap(bool v) { return needs_bootstrap = v, *this; }
  };
  FakeApplier() : FakeApplier(Options{}) {}
  explicit FakeApplier(Options options)
      : holds_everything_(options.holds_everything),
        applied_(options.applied),
        cluster_id_(std::move(options.cluster_id)),
        needs_bootstrap_(options.needs_bootstrap) {}

  uint64_t applied_version() const override {
    absl::MutexLock l(&mu_);
    return applied_;
  }
  std::string cluster_id() const override {
    absl::MutexLock l(&mu_);
    return cluster_id_;
  }
  // Kept as a full edge keeps it: set by a snapshot, shown in the hello, so an upstream can tell
  // a downstream that is only ahead of it (same history) from one restored elsewhere.
  std::string history_id() const override {
    absl::MutexLock l(&mu_);
    return history_id_;
  }
  absl::Status SetHistoryId(const std::string& history_id) override {
    absl::MutexLock l(&mu_);
    history_id_ = history_id;
    return absl::OkStatus();
  }
  bool holds_everything() const { return holds_everything_; }
  replication::SnapshotTarget* snapshots() { return holds_everything_ ? this : nullptr; }
  replication::HeadFollower* head() { return holds_everything_ ? nullptr : this; }
  bool NeedsBootstrap() const override {
    absl::MutexLock l(&mu_);
    return needs_bootstrap_;
  }

  absl::Status Apply(const std::vector<std::shared_ptr<const Change>>& changes) override {
    absl::MutexLock l(&mu_);
    ++apply_calls_;
    if (!fail_next_apply_.ok()) return std::exchange(fail_next_apply_, absl::OkStatus());
    // A real store refuses out-of-order input too; record it so tests can assert it never came.
    uint64_t expected = applied_ + 1;
    for (const auto& c : changes) {
      if (c->version() != expected++) {
        ++out_of_order_;
        return absl::FailedPreconditionError("fake applier: out-of-order change");
      }
    }
    std::vector<Change> batch;
    for (const auto& c : changes) {
      batch.push_back(*c);
      versions_.push_back(c->version());
      if (c->kind() == Change::KIND_DELETE) {
        data_.erase(c->key());
      } else {
        data_[c->key()] = c->value();
      }
    }
    if (!changes.empty()) applied_ = changes.back()->version();
    batches_.push_back(std::move(batch));
    return absl::OkStatus();
  }

  absl::Status BeginSnapshot() override {
    absl::MutexLock l(&mu_);
    ++begin_snapshots_;
    needs_bootstrap_ = true;  // like the real store: wiped and incomplete until finished
    applied_ = 0;
    data_.clear();
    return absl::OkStatus();
  }
  absl::Status ApplySnapshotChunk(const kvstore::v1::SnapshotChunk& chunk) override {
    absl::MutexLock l(&mu_);
    ++snapshot_chunks_;
    for (const auto& e : chunk.entries()) data_[e.key()] = e.value();
    for (const auto& e : chunk.missing_values()) data_[e.key()] = "";
    return absl::OkStatus();
  }
  absl::Status FinishSnapshot(uint64_t version, const std::string& cluster_id) override {
    absl::MutexLock l(&mu_);
    ++finish_snapshots_;
    applied_ = version;
    cluster_id_ = cluster_id;
    needs_bootstrap_ = false;
    return absl::OkStatus();
  }
  absl::Status StartFrom(uint64_t version, const std::string& cluster_id) override {
    absl::MutexLock l(&mu_);
    start_froms_.emplace_back(version, cluster_id);
    if (!fail_next_start_from_.ok()) return std::exchange(fail_next_start_from_, absl::OkStatus());
    data_.clear();
    applied_ = version;
    cluster_id_ = cluster_id;
    return absl::OkStatus();
  }

  // --- Test controls and inspection ----------------------------------------------------------
  void FailNextApply(absl::Status status) {
    absl::MutexLock l(&mu_);
    fail_next_apply_ = std::move(status);
  }
  void FailNextStartFrom(absl::Status status) {
    absl::MutexLock l(&mu_);
    fail_next_start_from_ = std::move(status);
  }
  // Waits until applied_version() >= version; false on timeout.
  bool WaitApplied(uint64_t version, absl::Duration timeout) const {
    absl::MutexLock l(&mu_);
    auto reached = [this, version]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return applied_ >= version; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  std::vector<std::vector<Change>> batches() const {
    absl::MutexLock l(&mu_);
    return batches_;
  }
  std::vector<uint64_t> versions() const {
    absl::MutexLock l(&mu_);
    return versions_;
  }
  std::map<std::string, std::string> data() const {
    absl::MutexLock l(&mu_);
    return data_;
  }
  std::vector<std::pair<uint64_t, std::string>> start_froms() const {
    absl::MutexLock l(&mu_);
    return start_froms_;
  }
  int apply_calls() const {
    absl::MutexLock l(&mu_);
    return apply_calls_;
  }
  int out_of_order() const {
    absl::MutexLock l(&mu_);
    return out_of_order_;
  }
  int begin_snapshots() const {
    absl::MutexLock l(&mu_);
    return begin_snapshots_;
  }
  int snapshot_chunks() const {
    absl::MutexLock l(&mu_);
    return snapshot_chunks_;
  }
  int finish_snapshots() const {
    absl::MutexLock l(&mu_);
    return finish_snapshots_;
  }

 private:
  const bool holds_everything_;
  mutable absl::Mutex mu_;
  uint64_t applied_ ABSL_GUARDED_BY(mu_);
  std::string cluster_id_ ABSL_GUARDED_BY(mu_);
  std::string history_id_ ABSL_GUARDED_BY(mu_);
  bool needs_bootstrap_ ABSL_GUARDED_BY(mu_);
  absl::Status fail_next_apply_ ABSL_GUARDED_BY(mu_);
  absl::Status fail_next_start_from_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<Change>> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> versions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> data_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<uint64_t, std::string>> start_froms_ ABSL_GUARDED_BY(mu_);
  int apply_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int out_of_order_ ABSL_GUARDED_BY(mu_) = 0;
  int begin_snapshots_ ABSL_GUARDED_BY(mu_) = 0;
  int snapshot_chunks_ ABSL_GUARDED_BY(mu_) = 0;
  int finish_snapshots_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace kv::testing
