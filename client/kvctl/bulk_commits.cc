#include "client/kvctl/bulk_commits.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace kv::kvctl {
namespace {

struct PendingLine {
  int64_t number = 0;
  BulkRecord record;
  BulkPutReport::Unknown if_unknown;
};

struct Batch {
  std::vector<PendingLine> lines;
  size_t bytes = 0;
  // One conditional line, written as a Put.
  bool single = false;
};

class CommitLoader {
 public:
  CommitLoader(client::Client& client, const BulkPutOptions& options, Tally& tally)
      : client_(client),
        options_(options),
        tally_(tally),
        max_keys_(std::clamp(options.commit_keys, 1, 1000)),
        max_bytes_(std::clamp<size_t>(options.commit_bytes, 1, 10ull << 20) - 64 * 1024) {
    const int workers = std::max(1, options.commits_in_flight);
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { Work(); });
  }

  // The reading thread: adds one line.
  void Add(PendingLine line) {
    const std::string& key = line.record.key;
    if (line.record.options.if_version.has_value()) {
      SendOpen();
      WaitUntilFree(key);
      Batch single;
      single.single = true;
      single.lines.push_back(std::move(line));
      return Send(std::move(single));
    }
    // A key again: its earlier line must be written first.
    if (open_keys_.contains(key)) SendOpen();
    WaitUntilFree(key);
    const size_t bytes =
        key.size() + line.record.value.size() + line.record.options.metadata.size() + 32;
    if (!open_.lines.empty() && open_.bytes + bytes > max_bytes_) SendOpen();
    open_keys_.insert(key);
    open_.bytes += bytes;
    open_.lines.push_back(std::move(line));
    if (open_.lines.size() >= static_cast<size_t>(max_keys_)) SendOpen();
  }

  // Sends what is left, waits for every outcome and stops the workers.
  void Finish() {
    SendOpen();
    {
      absl::MutexLock l(&mu_);
      done_ = true;
    }
    for (auto& w : workers_) w.join();
  }

 private:
  void SendOpen() {
    if (open_.lines.empty()) return;
    Send(std::move(open_));
    open_ = Batch();
    open_keys_.clear();
  }

  void WaitUntilFree(const std::string& key) {
    absl::MutexLock l(&mu_);
    auto free = [this, &key]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !keys_in_flight_.contains(key); };
    mu_.Await(absl::Condition(&free));
  }

  void Send(Batch batch) {
    absl::MutexLock l(&mu_);
    auto slot = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return busy_ < static_cast<int>(workers_.size());
    };
    mu_.Await(absl::Condition(&slot));
    for (const auto& line : batch.lines) ++keys_in_flight_[line.record.key];
    ++busy_;
    queue_.push_back(std::move(batch));
  }

  void Work() {
    for (;;) {
      Batch batch;
      {
        absl::MutexLock l(&mu_);
        auto ready = [this]()
                         ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || done_; };
        mu_.Await(absl::Condition(&ready));
        if (queue_.empty()) return;
        batch = std::move(queue_.front());
        queue_.pop_front();
      }
      Write(batch);
      absl::MutexLock l(&mu_);
      for (const auto& line : batch.lines) {
        auto it = keys_in_flight_.find(line.record.key);
        if (--it->second == 0) keys_in_flight_.erase(it);
      }
      --busy_;
    }
  }

  void Write(Batch& batch) {
    if (batch.single || commits_unsupported_.load()) return PutEach(batch);
    std::vector<client::CommitMutation> mutations;
    mutations.reserve(batch.lines.size());
    for (const auto& line : batch.lines) {
      mutations.push_back(
          client::CommitMutation::Put(line.record.key, line.record.value, line.record.options));
    }
    absl::StatusOr<client::CommitResult> r = client_.Commit({}, mutations);
    if (r.ok() || client::IsOutcomeUnknown(r.status())) {
      for (auto& line : batch.lines) {
        tally_.Outcome(line.number, r.status(), std::move(line.if_unknown));
      }
      return;
    }
    // Nothing was applied. Each line gets its own answer.
    if (absl::IsUnimplemented(r.status())) commits_unsupported_.store(true);
    PutEach(batch);
  }

  void PutEach(Batch& batch) {
    for (auto& line : batch.lines) {
      absl::StatusOr<client::PutResult> r =
          client_.Put(line.record.key, line.record.value, line.record.options);
      tally_.Outcome(line.number, r.status(), std::move(line.if_unknown));
    }
  }

  client::Client& client_;
  const BulkPutOptions options_;
  Tally& tally_;
  const int max_keys_;
  const size_t max_bytes_;
  // The server answered UNIMPLEMENTED (a node from before commits): Puts from then on.
  std::atomic<bool> commits_unsupported_{false};

  // The batch being filled, and its keys: the reading thread's only.
  Batch open_;
  absl::flat_hash_set<std::string> open_keys_;

  absl::Mutex mu_;
  std::deque<Batch> queue_ ABSL_GUARDED_BY(mu_);
  // Batches queued or being written.
  int busy_ ABSL_GUARDED_BY(mu_) = 0;
  // Keys of the batches queued or being written, with how many lines of each.
  absl::flat_hash_map<std::string, int> keys_in_flight_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace

void PutByCommits(client::Client& client, JsonLinesReader& reader, const BulkPutOptions& options,
                  Tally& tally, const std::function<void(int64_t)>& after_line) {
  CommitLoader loader(client, options, tally);
  ForEachLine(reader, options, tally, after_line,
              [&loader](int64_t number, BulkRecord record, BulkPutReport::Unknown if_unknown) {
                loader.Add(PendingLine{number, std::move(record), std::move(if_unknown)});
              });
  loader.Finish();
}

}  // namespace kv::kvctl
