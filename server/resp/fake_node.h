#pragma once
// For tests: an in-memory Node with versions, conditional writes, expirations and List, whose
// answers can be made to come from another thread, fail, look stale, or wait ("park") until the
// test releases them in any order. Keys select the behaviour:
//   "err/<code>/..."  fails with that canonical code ("node says no")
//   "stale/..."       UNAVAILABLE as an edge past its bound says it, unless allow_stale (then
//                     found, marked stale)
//   "park/..."        waits until ReleaseParked / ReleaseParkedReversed
// Everything else answers from the map, inline, or on the worker thread when async() is set.
// Writes (Put, Delete) always answer on the worker thread, as a commit thread would.
// With set_shared(true), TryGetShared and TryBatchGetShared answer plain keys (not err/, stale/,
// park/, nor a key absent from the map) as a cache edge's hits, each value in a block of its own
// that the node lets go of at once, as if evicted, and that is overwritten when freed: a reply
// that read the bytes after releasing them would show it.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/http/test_worker.h"
#include "server/node/node.h"

namespace kv::server::resp::testing {

class FakeNode final : public Node {
 public:
  explicit FakeNode(std::string role = "edge") : role_(std::move(role)) {}

  // Stores `value` (next version); returns the version.
  uint64_t Set(const std::string& key, const std::string& value, int64_t expiration = 0) {
    absl::MutexLock lock(&mu_);
    return SetLocked(key, value, expiration);
  }
  void set_shared(bool shared) {
    absl::MutexLock lock(&mu_);
    shared_ = shared;
  }
  void set_async(bool async) {
    absl::MutexLock lock(&mu_);
    async_ = async;
  }
  uint64_t head() {
    absl::MutexLock lock(&mu_);
    return head_;
  }
  // Requests and contexts the node saw last.
  kvstore::v1::ReadOptions last_options() {
    absl::MutexLock lock(&mu_);
    return last_options_;
  }
  CallContext last_context() {
    absl::MutexLock lock(&mu_);
    return last_context_;
  }
  kvstore::v1::PutRequest last_put() {
    absl::MutexLock lock(&mu_);
    return last_put_;
  }
  int calls(absl::string_view method) {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(std::string(method));
    return it == calls_.end() ? 0 : it->second;
  }
  int max_batch_keys_seen() {
    absl::MutexLock lock(&mu_);
    return max_batch_keys_;
  }
  // Makes the next `n` conditional Puts fail as if another writer got there first.
  void LoseNextConditionalPuts(int n) {
    absl::MutexLock lock(&mu_);
    lose_conditional_ = n;
  }
  bool WaitForParked(size_t n, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return parked_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  // Completes the parked Gets (value = the key), oldest first or newest first.
  void ReleaseParked() { Release(false); }
  void ReleaseParkedReversed() { Release(true); }

  void Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
           const CallContext& call, Done done) override {
    absl::MutexLock lock(&mu_);
    Count("Get", request.options(), call);
    const std::string& key = request.key();
    if (absl::StartsWith(key, "park/")) {
      parked_.push_back({response, std::move(done), key});
      return;
    }
    absl::Status s = ReadLocked(key, request.options(), response->mutable_entry());
    if (s.ok()) {
      response->set_found(response->entry().version() != 0);
      if (!response->found()) response->clear_entry();
      FillInfo(request.options(), key, response->mutable_info());
    }
    Answer(std::move(done), s, async_);
  }

  void BatchGet(const kvstore::v1::BatchGetRequest& request,
                kvstore::v1::BatchGetResponse* response, const CallContext& call,
                Done done) override {
    absl::MutexLock lock(&mu_);
    Count("BatchGet", request.options(), call);
    max_batch_keys_ = std::max(max_batch_keys_, request.keys_size());
    if (request.keys_size() > 100) {
      return Answer(std::move(done), absl::InvalidArgumentError("more than 100 keys"), false);
    }
    for (const std::string& key : request.keys()) {
      auto* r = response->add_results();
      absl::Status s = ReadLocked(key, request.options(), r->mutable_entry());
      if (!s.ok()) return Answer(std::move(done), s, async_);
      r->set_found(r->entry().version() != 0);
      if (!r->found()) r->clear_entry();
      FillInfo(request.options(), key, response->mutable_info());
    }
    Answer(std::move(done), absl::OkStatus(), async_);
  }

  bool TryGetShared(absl::string_view key, const kvstore::v1::ReadOptions& options,
                    const CallContext& call, SharedRead* out) override {
    absl::MutexLock lock(&mu_);
    if (!shared_ || !SharedLocked(key, &out->value)) return false;
    Count("TryGetShared", options, call);
    out->info = SharedInfoLocked();
    return true;
  }

  void PrefetchReads(absl::Span<const absl::string_view> keys) override {
    absl::MutexLock lock(&mu_);
    prefetched_.emplace_back(keys.begin(), keys.end());
    events_.push_back("PrefetchReads");
  }
  // Every call counted and every hint, in the order the node saw them.
  std::vector<std::string> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  // The key lists PrefetchReads was given, in order.
  std::vector<std::vector<std::string>> prefetched() {
    absl::MutexLock lock(&mu_);
    return prefetched_;
  }

  bool TryBatchGetShared(absl::Span<const absl::string_view> keys,
                         const kvstore::v1::ReadOptions& options, const CallContext& call,
                         SharedBatchRead* out) override {
    absl::MutexLock lock(&mu_);
    if (!shared_ || keys.size() > 100) return false;
    out->values.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!SharedLocked(keys[i], &out->values[i])) return false;
    }
    Count("TryBatchGetShared", options, call);
    out->info = SharedInfoLocked();
    return true;
  }

  void Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
           const CallContext& call, Done done) override {
    absl::MutexLock lock(&mu_);
    Count("Put", {}, call);
    last_put_ = request;
    if (absl::Status s = KeyError(request.key()); !s.ok()) return Answer(std::move(done), s, true);
    const uint64_t current = Current(request.key());
    if (request.has_if_version()) {
      if (lose_conditional_ > 0) {
        --lose_conditional_;
        return Answer(std::move(done), absl::FailedPreconditionError("lost a race"), true);
      }
      if (request.if_version() != current) {
        return Answer(std::move(done),
                      absl::FailedPreconditionError(absl::StrCat("current version ", current)),
                      true);
      }
    }
    int64_t expiration = request.expiration();
    if (request.ttl_seconds() > 0) {
      expiration = absl::ToUnixSeconds(absl::Now()) + request.ttl_seconds();
    }
    response->set_version(SetLocked(request.key(), request.value(), expiration));
    response->set_expiration(expiration);
    Answer(std::move(done), absl::OkStatus(), true);
  }

  void Delete(const kvstore::v1::DeleteRequest& request, kvstore::v1::DeleteResponse* response,
              const CallContext& call, Done done) override {
    absl::MutexLock lock(&mu_);
    Count("Delete", {}, call);
    if (absl::Status s = KeyError(request.key()); !s.ok()) return Answer(std::move(done), s, true);
    const bool existed = Current(request.key()) != 0;
    if (existed) entries_.erase(request.key());
    ++head_;
    response->set_deleted(existed);
    response->set_version(head_);
    Answer(std::move(done), absl::OkStatus(), true);
  }

  void List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
            const CallContext& call, Done done) override {
    absl::MutexLock lock(&mu_);
    Count("List", request.options(), call);
    const uint32_t limit = request.limit() == 0 ? 100 : request.limit();
    auto it = request.cursor().empty() ? entries_.lower_bound(request.prefix())
                                       : entries_.upper_bound(request.cursor());
    for (; it != entries_.end() && absl::StartsWith(it->first, request.prefix()); ++it) {
      if (static_cast<uint32_t>(response->entries_size()) == limit) {
        response->set_next_cursor(response->entries(response->entries_size() - 1).key());
        break;
      }
      response->add_entries()->set_key(it->first);
    }
    FillInfo(request.options(), "", response->mutable_info());
    Answer(std::move(done), absl::OkStatus(), async_);
  }

  void Fetch(const kvstore::v1::FetchRequest&, kvstore::v1::FetchResponse*, const CallContext&,
             Done done) override {
    std::move(done)(absl::UnimplementedError("fake"));
  }

  void GetStatus(kvstore::v1::StatusResponse* status) override {
    absl::MutexLock lock(&mu_);
    status->set_role(role_);
    status->set_node_id(role_ == "central" ? "central" : "edge-a");
    if (role_ != "central") {
      status->set_mode("full");
      auto* r = status->mutable_replication();
      r->set_upstream("127.0.0.1:7000");
      r->set_connected(true);
      r->set_state("streaming");
      r->set_staleness_micros(12'000);
      r->set_max_staleness_micros(5'000'000);
    }
    status->set_head_version(head_);
    status->set_key_count(entries_.size());
    status->set_ready(true);
  }
  bool Ready(std::string*) override { return true; }

 private:
  std::vector<std::vector<std::string>> prefetched_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
  struct Entry {
    std::string value;
    uint64_t version = 0;
    int64_t expiration = 0;
  };
  struct Parked {
    kvstore::v1::GetResponse* response;
    Done done;
    std::string key;
  };

  uint64_t SetLocked(const std::string& key, const std::string& value, int64_t expiration)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    entries_[key] = Entry{value, ++head_, expiration};
    return head_;
  }

  uint64_t Current(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = entries_.find(key);
    return it == entries_.end() ? 0 : it->second.version;
  }

  static absl::Status KeyError(const std::string& key) {
    if (!absl::StartsWith(key, "err/")) return absl::OkStatus();
    std::vector<std::string> parts = absl::StrSplit(key, '/');
    int code = 2;
    if (parts.size() > 1) (void)absl::SimpleAtoi(parts[1], &code);
    return absl::Status(static_cast<absl::StatusCode>(code), "node says no");
  }

  absl::Status ReadLocked(const std::string& key, const kvstore::v1::ReadOptions& options,
                          kvstore::v1::Entry* entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (absl::Status s = KeyError(key); !s.ok()) return s;
    if (absl::StartsWith(key, "stale/") && !options.allow_stale()) {
      return absl::UnavailableError(
          "edge edge-a is 7.2s stale (bound 5s) and its upstream 127.0.0.1:7000 is unreachable "
          "(connection refused); set allow_stale to accept a stale answer");
    }
    auto it = entries_.find(key);
    if (it == entries_.end()) return absl::OkStatus();
    entry->set_key(key);
    entry->set_value(it->second.value);
    entry->set_version(it->second.version);
    entry->set_expiration(it->second.expiration);
    return absl::OkStatus();
  }

  // A plain key's value in a block only `out` holds, scribbled over when released.
  bool SharedLocked(absl::string_view key, SharedValue* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (absl::string_view special : {"err/", "stale/", "park/"}) {
      if (absl::StartsWith(key, special)) return false;
    }
    auto it = entries_.find(std::string(key));
    if (it == entries_.end()) return false;
    const Entry& e = it->second;
    const bool live = e.expiration == 0 || e.expiration > absl::ToUnixSeconds(absl::Now());
    std::shared_ptr<std::string> bytes(new std::string(e.value), [](std::string* freed) {
      std::fill(freed->begin(), freed->end(), '#');
      delete freed;
    });
    out->found = live;
    out->value = live ? absl::string_view(*bytes) : absl::string_view();
    out->holder = std::move(bytes);
    return true;
  }

  SharedReadInfo SharedInfoLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return {.staleness_micros = 3'000,
            .source = kvstore::v1::SOURCE_EDGE_CACHE,
            .as_of_version = head_,
            .node_id = "edge-c"};
  }

  void FillInfo(const kvstore::v1::ReadOptions& options, const std::string& key,
                kvstore::v1::ReadInfo* info) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    info->set_node_id("edge-a");
    info->set_source(kvstore::v1::SOURCE_EDGE_STORE);
    info->set_as_of_version(head_);
    info->set_staleness_micros(12'000);
    if (absl::StartsWith(key, "stale/")) {
      info->set_stale(true);
      info->set_staleness_micros(7'200'000);
    }
  }

  void Count(const std::string& method, const kvstore::v1::ReadOptions& options,
             const CallContext& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++calls_[method];
    events_.push_back(method);
    if (method != "Put" && method != "Delete") last_options_ = options;
    last_context_ = call;
  }

  void Answer(Done done, absl::Status status, bool async) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (async) {
      worker_.Post([done = std::move(done), status]() mutable { std::move(done)(status); });
      return;
    }
    // Inline, as a full edge answers a local read: the lock must not be held then.
    mu_.Unlock();
    std::move(done)(status);
    mu_.Lock();
  }

  void Release(bool reversed) {
    std::vector<Parked> parked;
    {
      absl::MutexLock lock(&mu_);
      parked.swap(parked_);
    }
    if (reversed) std::reverse(parked.begin(), parked.end());
    for (Parked& p : parked) {
      p.response->set_found(true);
      p.response->mutable_entry()->set_value(p.key);
      p.response->mutable_entry()->set_version(1);
      std::move(p.done)(absl::OkStatus());
    }
  }

  const std::string role_;
  kv::server::testing::TestWorker worker_;
  absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 0;
  bool async_ ABSL_GUARDED_BY(mu_) = false;
  bool shared_ ABSL_GUARDED_BY(mu_) = false;
  int lose_conditional_ ABSL_GUARDED_BY(mu_) = 0;
  int max_batch_keys_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
  kvstore::v1::ReadOptions last_options_ ABSL_GUARDED_BY(mu_);
  CallContext last_context_ ABSL_GUARDED_BY(mu_);
  kvstore::v1::PutRequest last_put_ ABSL_GUARDED_BY(mu_);
  std::vector<Parked> parked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::server::resp::testing
