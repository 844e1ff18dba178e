// LocalReplica (kv/local_replica.h): the edge's replication, routing and cache code, run inside
// the application. The stream is applied by the edge's Subscriber into a MemoryStore (full) or
// a ReplicaCache (cache); reads are routed by the edge's rule (server/edge/read_route.h); what
// cannot be answered here goes to the upstream through the client library's Client.

#include "kv/local_replica.h"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/convert.h"
#include "client/local_replica/memory_store.h"
#include "client/local_replica/replica_cache.h"
#include "common/clock.h"
#include "common/tls/client_channel.h"
#include "common/units.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "replication/freshness.h"
#include "replication/subscriber.h"
#include "server/edge/read_route.h"
#include "server/edge/version_waiters.h"

namespace kv::client {
namespace {

using replica::MemoryStore;
using replica::ReplicaCache;
using replica::StoredRecord;
using server::ReadRoute;
using FreshnessTracker = replication::FreshnessTracker;

constexpr int kMinMessageBytes = 26 << 20;
constexpr size_t kDefaultListLimit = 100;

std::string DefaultNodeId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return absl::StrCat("replica-", host[0] != '\0' ? host : "local", "-", getpid());
}

// An answer relayed from an edge upstream is "upstream" to the replica's caller.
Source Relabel(Source s) {
  return s == Source::kEdgeStore || s == Source::kEdgeCache ? Source::kUpstream : s;
}

bool Expired(int64_t expiration, int64_t now_unix) {
  return expiration != 0 && expiration <= now_unix;
}

// Reads the wall clock only for a record that can expire (most cannot; a Get is ~100 ns).
bool ExpiredNow(int64_t expiration, Clock* clock) {
  return expiration != 0 && expiration <= clock->UnixSeconds();
}

Entry ToEntry(StoredRecord&& r) {
  Entry e;
  e.key = std::move(r.key);
  e.value = std::move(r.value);
  e.metadata = std::move(r.metadata);
  e.version = r.version;
  e.expiration = r.expiration;
  return e;
}

class LocalReplicaImpl final : public LocalReplica {
 public:
  LocalReplicaImpl(const LocalReplicaOptions& options, tls::ClientChannelSecurity security,
                   std::unique_ptr<Client> upstream)
      : options_(options),
        clock_(Clock::Real()),
        security_(std::move(security)),
        upstream_(std::move(upstream)),
        freshness_(clock_),
        waiters_(clock_) {}

  ~LocalReplicaImpl() override {
    if (subscriber_) subscriber_->Stop();
    waiters_.Stop();
  }

  absl::Status Start() {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(options_.max_message_bytes);
    args.SetMaxSendMessageSize(options_.max_message_bytes);
    channel_ = security_.CreateChannel(options_.upstream, args);
    replication_ = kvstore::v1::Replication::NewStub(channel_);
    replication::SubscriberOptions sub;
    sub.node_id = options_.node_id;
    sub.ping_interval = options_.ping_interval;
    sub.on_applied = [this](uint64_t applied) { waiters_.Advance(applied); };
    const std::string authorization =
        options_.bearer_token.empty() ? "" : absl::StrCat("Bearer ", options_.bearer_token);
    sub.authorization = [authorization] { return authorization; };
    if (options_.mode == ReplicaMode::kFull) {
      store_ = std::make_unique<MemoryStore>();
      subscriber_ = std::make_unique<replication::Subscriber>(replication_.get(), options_.upstream,
                                                              store_.get(), store_.get(),
                                                              &freshness_, clock_, std::move(sub));
    } else {
      auto cache = ReplicaCache::Create(options_.cache_bytes, replication_.get(), options_.node_id,
                                        [this](grpc::ClientContext* c) { security_.Authorize(c); });
      if (!cache.ok()) return cache.status();
      cache_ = *std::move(cache);
      subscriber_ = std::make_unique<replication::Subscriber>(
          replication_.get(), options_.upstream, cache_.get(),
          static_cast<replication::HeadFollower*>(cache_.get()), &freshness_, clock_,
          std::move(sub));
    }
    subscriber_->Start();
    return absl::OkStatus();
  }

  absl::Status WaitUntilReady(absl::Duration timeout) override {
    const absl::Time deadline = absl::Now() + timeout;
    const int64_t bound = absl::ToInt64Microseconds(options_.max_staleness);
    while (true) {
      if (LocalUsable() && freshness_.StalenessMicros() <= bound) return absl::OkStatus();
      if (absl::Now() >= deadline) break;
      absl::SleepFor(absl::Milliseconds(5));
    }
    const ReplicaStatus st = Status();
    return absl::DeadlineExceededError(absl::StrCat(
        "local replica ", options_.node_id, " is not ready after ", absl::FormatDuration(timeout),
        ": ", st.state, ", applied version ", st.applied_version,
        st.last_error.empty() ? "" : absl::StrCat(", last error: ", st.last_error)));
  }

  absl::StatusOr<GetResult> Get(absl::string_view key, const ReadOptions& options) override {
    if (key.empty()) return absl::InvalidArgumentError("key: must not be empty");
    const ReadRoute route = Decide(options);
    if (route == ReadRoute::kLocal) return GetLocal(key, options, /*stale_fallback=*/false);
    return GetUpstream(key, options, route);
  }

  absl::StatusOr<BatchGetResult> BatchGet(const std::vector<std::string>& keys,
                                          const ReadOptions& options) override {
    if (keys.empty()) return absl::InvalidArgumentError("keys: at least one key is required");
    for (const auto& k : keys) {
      if (k.empty()) return absl::InvalidArgumentError("keys: a key must not be empty");
    }
    const ReadRoute route = Decide(options);
    if (route == ReadRoute::kLocal) {
      if (auto local = BatchGetLocal(keys, /*stale_fallback=*/false)) return *std::move(local);
      return BatchGetUpstream(keys, options, ReadRoute::kLocal);
    }
    return BatchGetUpstream(keys, options, route);
  }

  absl::StatusOr<ListResult> List(const ListOptions& list, const ReadOptions& options) override {
    if (list.limit > 1000) return absl::InvalidArgumentError("limit: at most 1000");
    const ReadRoute route = Decide(options);
    if (route == ReadRoute::kLocal) {
      if (auto local = ListLocal(list, /*stale_fallback=*/false)) return *std::move(local);
      return ListUpstream(list, options, ReadRoute::kLocal);
    }
    return ListUpstream(list, options, route);
  }

  absl::StatusOr<PutResult> Put(absl::string_view key, absl::string_view value,
                                const PutOptions& options) override {
    return upstream_->Put(key, value, options);
  }

  absl::StatusOr<DeleteResult> Delete(absl::string_view key,
                                      const DeleteOptions& options) override {
    return upstream_->Delete(key, options);
  }

  absl::StatusOr<CommitResult> Commit(const std::vector<CommitCheck>& checks,
                                      const std::vector<CommitMutation>& mutations,
                                      const CommitOptions& options) override {
    return upstream_->Commit(checks, mutations, options);
  }

  ReplicaStatus Status() const override {
    ReplicaStatus st;
    st.mode = options_.mode;
    st.node_id = options_.node_id;
    st.state = replication::Subscriber::StateName(subscriber_->state());
    st.connected = subscriber_->connected();
    st.last_error = subscriber_->last_error();
    st.applied_version = AppliedVersion();
    const int64_t staleness = freshness_.StalenessMicros();
    st.staleness = staleness == FreshnessTracker::kNeverFresh ? absl::InfiniteDuration()
                                                              : absl::Microseconds(staleness);
    st.snapshots = subscriber_->snapshots();
    if (store_) {
      st.keys = store_->key_count();
      st.bytes = store_->payload_bytes();
      st.checksum_mismatches = store_->mismatches();
    } else {
      kvstore::v1::CacheStatus cs;
      cache_->FillStatus(&cs);
      st.keys = cs.entries();
      st.bytes = cs.bytes_used();
      st.cache_hits = cs.hits();
      st.cache_misses = cs.misses();
      st.upstream_fetches = cs.upstream_fetches();
    }
    return st;
  }

 private:
  uint64_t AppliedVersion() const {
    return store_ ? store_->applied_version() : cache_->applied_version();
  }
  bool LocalUsable() const { return store_ ? store_->usable() : true; }
  int64_t BoundMicros(const ReadOptions& o) const {
    return absl::ToInt64Microseconds(
        o.max_staleness > absl::ZeroDuration() ? o.max_staleness : options_.max_staleness);
  }
  absl::Time Deadline(const ReadOptions& o) const {
    return absl::Now() + (o.timeout > absl::ZeroDuration() ? o.timeout : options_.timeout);
  }

  // The edge's rule; a read behind min_version waits for the stream first.
  ReadRoute Decide(const ReadOptions& o) {
    const ReadRoute route = server::RouteRead({
        .strong = o.consistency == Consistency::kStrong,
        .bound_micros = BoundMicros(o),
        .min_version = o.min_version,
        .staleness_micros = freshness_.StalenessMicros(),
        .applied_version = AppliedVersion(),
        .local_suspect = !LocalUsable(),
    });
    if (route != ReadRoute::kBehind) return route;
    absl::Notification reached_or_not;
    bool reached = false;
    waiters_.Wait(o.min_version, std::min(Deadline(o), absl::Now() + options_.min_version_wait),
                  [&](bool r) {
                    reached = r;
                    reached_or_not.Notify();
                  });
    reached_or_not.WaitForNotification();
    return reached ? ReadRoute::kLocal : ReadRoute::kBehind;
  }

  // The edge's rule (read_route.h): may a kStale read whose upstream call failed be answered
  // from the local copy, labelled stale?
  bool FallBackToStale(ReadRoute route, const ReadOptions& o, const absl::Status& upstream) const {
    return server::FallBackToStale(route, upstream, o.allow_stale,
                                   {.min_version = o.min_version,
                                    .applied_version = AppliedVersion(),
                                    .local_suspect = !LocalUsable()});
  }

  // `staleness`: freshness_.StalenessMicros() taken BEFORE the data was read. Taken after, a
  // pong credited in between would vouch for versions the answer may lack.
  ReadInfo LocalInfo(uint64_t as_of, bool stale, int64_t staleness) const {
    ReadInfo info;
    info.staleness = staleness == FreshnessTracker::kNeverFresh ? absl::InfiniteDuration()
                                                                : absl::Microseconds(staleness);
    info.source = Source::kLocalReplica;
    info.as_of_version = as_of;
    info.node_id = options_.node_id;
    info.stale = stale;
    info.endpoint = "local";
    return info;
  }

  absl::Status UpstreamFailed(ReadRoute route, const ReadOptions& o, const absl::Status& s) const {
    if (!server::UpstreamUnreachable(s)) return s;
    const int64_t staleness = freshness_.StalenessMicros();
    const std::string who = absl::StrCat("local replica ", options_.node_id);
    const std::string upstream =
        absl::StrCat("its upstream ", options_.upstream, " is unreachable (", s.message(), ")");
    switch (route) {
      case ReadRoute::kStale:
        return absl::UnavailableError(
            absl::StrCat(who, " ",
                         staleness == FreshnessTracker::kNeverFresh
                             ? std::string("has never synced")
                             : absl::StrCat("is ", FormatMicros(staleness), " stale"),
                         " (bound ", FormatMicros(BoundMicros(o)), ") and ", upstream,
                         "; set allow_stale to accept a stale answer"));
      case ReadRoute::kBehind:
        return absl::UnavailableError(absl::StrCat(who, " has applied version ", AppliedVersion(),
                                                   ", below min_version ", o.min_version, ", and ",
                                                   upstream));
      case ReadRoute::kStrong:
        return absl::UnavailableError(absl::StrCat("strong read: ", upstream));
      case ReadRoute::kLocal:
        break;
    }
    return absl::UnavailableError(absl::StrCat(who, " cannot read through: ", upstream));
  }

  // The read as sent upstream: with this replica's bound when it names none, since the upstream
  // would apply its own default, which may be looser (docs/design.md, "The read path").
  ReadOptions ForUpstream(const ReadOptions& o) const {
    ReadOptions up = o;
    up.use_session = false;
    if (up.max_staleness <= absl::ZeroDuration() && up.consistency != Consistency::kStrong) {
      up.max_staleness = options_.max_staleness;
    }
    return up;
  }

  // --- Get ------------------------------------------------------------------------------------
  absl::StatusOr<GetResult> GetUpstream(absl::string_view key, const ReadOptions& o,
                                        ReadRoute route) {
    auto got = upstream_->Get(key, ForUpstream(o));
    if (got.ok()) {
      got->info.source = Relabel(got->info.source);
      return got;
    }
    if (FallBackToStale(route, o, got.status())) {
      return GetLocal(key, o, /*stale_fallback=*/true);
    }
    return UpstreamFailed(route, o, got.status());
  }

  absl::StatusOr<GetResult> GetLocal(absl::string_view key, const ReadOptions& o,
                                     bool stale_fallback) {
    return store_ ? GetFromStore(key, o, stale_fallback) : GetFromCache(key, o, stale_fallback);
  }

  absl::StatusOr<GetResult> GetFromStore(absl::string_view key, const ReadOptions& o,
                                         bool stale_fallback) {
    GetResult result;
    const int64_t staleness = freshness_.StalenessMicros();  // before the lookup, as as_of
    const uint64_t as_of = store_->applied_version();        // before the lookup: a lower bound
    StoredRecord record;
    if (store_->Get(key, &record) && !ExpiredNow(record.expiration, clock_)) {
      if (record.value_missing) {
        // A large value this copy does not hold: the upstream has it at this version or later.
        if (stale_fallback) {
          return absl::UnavailableError(absl::StrCat("local replica ", options_.node_id,
                                                     " does not hold this value and its upstream ",
                                                     options_.upstream, " is unreachable"));
        }
        ReadOptions up = o;
        up.min_version = std::max(o.min_version, record.version);
        return GetUpstream(key, up, ReadRoute::kLocal);
      }
      result.found = true;
      result.entry = ToEntry(std::move(record));
    }
    result.info = LocalInfo(as_of, stale_fallback, staleness);
    return result;
  }

  absl::StatusOr<GetResult> GetFromCache(absl::string_view key, const ReadOptions& o,
                                         bool stale_fallback) {
    const std::string k(key);
    // Both before the lookup or the fetch: what they promise, the answer holds.
    const int64_t staleness = freshness_.StalenessMicros();
    const uint64_t as_of = cache_->applied_version();
    GetResult result;
    if (auto cached = cache_->Lookup(k)) {
      FillCached(k, *cached, &result.found, &result.entry);
      result.info = LocalInfo(as_of, stale_fallback, staleness);
      return result;
    }
    if (stale_fallback) {
      return absl::UnavailableError(absl::StrCat("local replica ", options_.node_id,
                                                 " does not hold this key and its upstream ",
                                                 options_.upstream, " is unreachable"));
    }
    server::FetchOutcome fetched = cache_->Fetch(k, Deadline(o));
    if (!fetched.status.ok()) return UpstreamFailed(ReadRoute::kLocal, o, fetched.status);
    if (fetched.must_forward) return GetUpstream(key, o, ReadRoute::kLocal);
    FillCached(k, *fetched.value, &result.found, &result.entry);
    if (fetched.info.node_id().empty()) {
      // The stream overtook the fetch: its change is at least as new as the state read above.
      result.info = LocalInfo(as_of, false, staleness);
    } else {
      result.info = FromProto(fetched.info, options_.upstream);
      result.info.source = Relabel(result.info.source);
      // Never staler than this replica was before the fetch (the edge's rule, cache_edge.cc):
      // the answer holds the key's every change up to then.
      result.info.staleness =
          std::min(result.info.staleness, LocalInfo(as_of, false, staleness).staleness);
    }
    return result;
  }

  void FillCached(const std::string& key, const server::cache::CachedValue& v, bool* found,
                  Entry* entry) const {
    *found = v.found && !ExpiredNow(v.expiration, clock_);
    if (!*found) return;
    entry->key = key;
    entry->value = v.value;
    entry->metadata = v.metadata;
    entry->version = v.version;
    entry->expiration = v.expiration;
  }

  // --- BatchGet -------------------------------------------------------------------------------
  absl::StatusOr<BatchGetResult> BatchGetUpstream(const std::vector<std::string>& keys,
                                                  const ReadOptions& o, ReadRoute route) {
    auto got = upstream_->BatchGet(keys, ForUpstream(o));
    if (got.ok()) {
      for (auto& item : got->items) item.source = Relabel(item.source);
      got->info.source = Relabel(got->info.source);
      return got;
    }
    if (FallBackToStale(route, o, got.status())) {
      if (auto local = BatchGetLocal(keys, /*stale_fallback=*/true)) return *std::move(local);
      return absl::UnavailableError(absl::StrCat("local replica ", options_.node_id,
                                                 " does not hold every key and its upstream ",
                                                 options_.upstream, " is unreachable"));
    }
    return UpstreamFailed(route, o, got.status());
  }

  // Every key from the local copy at one version, or nullopt when some key must be read
  // upstream (a missing value, a cold key, or a cache that kept changing under the read).
  std::optional<BatchGetResult> BatchGetLocal(const std::vector<std::string>& keys,
                                              bool stale_fallback) {
    BatchGetResult result;
    result.items.resize(keys.size());
    const int64_t now = clock_->UnixSeconds();
    const int64_t staleness = freshness_.StalenessMicros();  // before the reads
    uint64_t as_of = 0;
    bool complete = true;
    if (store_) {
      std::vector<std::optional<StoredRecord>> records;
      store_->BatchGet(keys, &records, &as_of);
      for (size_t i = 0; i < keys.size(); ++i) {
        auto& item = result.items[i];
        item.source = Source::kLocalReplica;
        if (!records[i] || Expired(records[i]->expiration, now)) continue;
        if (records[i]->value_missing) complete = false;
        item.found = true;
        item.entry = ToEntry(*std::move(records[i]));
      }
    } else {
      std::vector<std::shared_ptr<const server::cache::CachedValue>> hits;
      as_of = cache_->LookupAll(keys, &hits);
      for (size_t i = 0; i < keys.size(); ++i) {
        auto& item = result.items[i];
        item.source = Source::kLocalReplica;
        // A cold key, or a value a fetch installed newer than the hits' state (it may belong to
        // a commit whose other keys are cached older): the upstream answers the whole batch
        // (the cache edge's rule, docs/design-notes.md "Commits at a cache edge").
        if (hits[i] == nullptr || hits[i]->version > as_of) {
          complete = false;
          break;
        }
        FillCached(keys[i], *hits[i], &item.found, &item.entry);
      }
    }
    if (!complete) return std::nullopt;
    result.info = LocalInfo(as_of, stale_fallback, staleness);
    return result;
  }

  // --- List -----------------------------------------------------------------------------------
  absl::StatusOr<ListResult> ListUpstream(const ListOptions& list, const ReadOptions& o,
                                          ReadRoute route) {
    auto got = upstream_->List(list, ForUpstream(o));
    if (got.ok()) {
      got->info.source = Relabel(got->info.source);
      return got;
    }
    if (FallBackToStale(route, o, got.status())) {
      if (auto local = ListLocal(list, /*stale_fallback=*/true)) return *std::move(local);
      return absl::UnavailableError(absl::StrCat("local replica ", options_.node_id,
                                                 " cannot list this page and its upstream ",
                                                 options_.upstream, " is unreachable"));
    }
    return UpstreamFailed(route, o, got.status());
  }

  // One page from the full copy, or nullopt when it must be listed upstream (a cache, or a
  // value this copy does not hold).
  std::optional<ListResult> ListLocal(const ListOptions& list, bool stale_fallback) {
    if (!store_) return std::nullopt;  // a cache holds some keys only: List goes upstream
    std::vector<StoredRecord> records;
    bool more = false;
    uint64_t as_of = 0;
    const int64_t staleness = freshness_.StalenessMicros();  // before the read
    store_->List(list.prefix, list.cursor, list.limit == 0 ? kDefaultListLimit : list.limit,
                 list.include_values, clock_->UnixSeconds(), &records, &more, &as_of);
    ListResult result;
    result.entries.reserve(records.size());
    for (auto& r : records) {
      if (r.value_missing && list.include_values && !stale_fallback) return std::nullopt;
      result.entries.push_back(ToEntry(std::move(r)));
    }
    if (more && !result.entries.empty()) result.next_cursor = result.entries.back().key;
    result.info = LocalInfo(as_of, stale_fallback, staleness);
    return result;
  }

  const LocalReplicaOptions options_;
  Clock* const clock_;
  const tls::ClientChannelSecurity security_;
  const std::unique_ptr<Client> upstream_;
  // Thread-safe by themselves.
  FreshnessTracker freshness_;
  server::VersionWaiters waiters_;
  // Set by Start, constant after it. Exactly one of store_ and cache_ is set.
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<kvstore::v1::Replication::Stub> replication_;
  std::unique_ptr<MemoryStore> store_;
  std::unique_ptr<ReplicaCache> cache_;
  std::unique_ptr<replication::Subscriber> subscriber_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LocalReplica>> LocalReplica::Create(
    const LocalReplicaOptions& options) {
  LocalReplicaOptions o = options;
  if (o.upstream.empty()) return absl::InvalidArgumentError("upstream: must name host:port");
  if (o.max_message_bytes < kMinMessageBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_message_bytes: must be >= ", kMinMessageBytes, " (26 MiB)"));
  }
  if (o.max_staleness <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_staleness: must be > 0");
  }
  if (o.timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("timeout: must be > 0");
  if (o.ping_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ping_interval: must be > 0");
  }
  if (o.mode == ReplicaMode::kCache && o.cache_bytes < (1u << 20)) {
    return absl::InvalidArgumentError("cache_bytes: must be at least 1 MiB");
  }
  if (o.node_id.empty()) o.node_id = DefaultNodeId();

  auto security = tls::ClientChannelSecurity::Make(ToTlsFiles(o.tls), o.bearer_token);
  if (!security.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("tls: ", security.status().message()));
  }
  ClientOptions up;
  up.write_endpoint = o.upstream;
  up.read_endpoints = {o.upstream};
  up.timeout = o.timeout;
  up.session = false;
  up.max_message_bytes = o.max_message_bytes;
  up.tls = o.tls;
  up.bearer_token = o.bearer_token;
  auto upstream = Client::Create(up);
  if (!upstream.ok()) return upstream.status();
  auto replica = std::make_unique<LocalReplicaImpl>(o, *std::move(security), *std::move(upstream));
  if (auto s = replica->Start(); !s.ok()) return s;
  return replica;
}

}  // namespace kv::client
