// EdgeNode's reads: Get, Fetch, BatchGet and List, each routed by EdgeNode::Decide.

#include <algorithm>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "server/edge/cache_store.h"
#include "server/edge/edge_node.h"
#include "server/storage/store_reads.h"

namespace kv::server {

using kvstore::v1::Source;

namespace {
// Staleness of a fetched answer for a reader that joined the fetch `joined_late` after it was
// sent: the upstream answered as of then at the earliest. kNeverFresh stays so.
int64_t FetchedStaleness(int64_t upstream_staleness, int64_t joined_late) {
  if (upstream_staleness == replication::FreshnessTracker::kNeverFresh) return upstream_staleness;
  return upstream_staleness + std::max<int64_t>(0, joined_late);
}

// An answer relayed from the upstream: to our caller, an edge store upstream is "upstream".
Source Relabel(Source source) {
  return source == kvstore::v1::SOURCE_EDGE_STORE || source == kvstore::v1::SOURCE_EDGE_CACHE
             ? kvstore::v1::SOURCE_UPSTREAM
             : source;
}
}  // namespace

template <typename Request, typename Response>
void EdgeNode::ReadOne(const Request& request, Response* response, const CallContext& call,
                       Done done) {
  Decide(request.options(), call,
         [this, &request, response, call, done = std::move(done)](Route route) mutable {
           if (route == Route::kLocal) {
             ReadOneLocal(request, response, call, std::move(done), /*stale_fallback=*/false);
           } else {
             ReadOneUpstream(request, response, call, std::move(done), route);
           }
         });
}

template <typename Request, typename Response>
void EdgeNode::ReadOneLocal(const Request& request, Response* response, const CallContext& call,
                            Done done, bool stale_fallback) {
  if (cache_) return ReadOneCached(request, response, call, std::move(done), stale_fallback);
  uint64_t as_of = applied_version();  // before the read: the answer reflects at least this
  auto read = ReadLocal(*store_, request.key(), clock_->UnixSeconds(), response->mutable_entry());
  if (!read.ok()) return std::move(done)(read.status());
  if (*read == LocalRead::kValueMissing) {
    response->Clear();
    if (stale_fallback) {
      return std::move(done)(
          absl::UnavailableError(absl::StrCat("edge ", options_.node_id,
                                              " has not fetched this key's value yet and its "
                                              "upstream ",
                                              options_.upstream.address, " is unreachable")));
    }
    // A large value announced by invalidation and not fetched yet: read it through.
    return ReadOneUpstream(request, response, call, std::move(done), Route::kLocal);
  }
  response->set_found(*read == LocalRead::kFound);
  if (!response->found()) response->clear_entry();
  FillInfo(as_of, kvstore::v1::SOURCE_EDGE_STORE, response->mutable_info());
  response->mutable_info()->set_stale(stale_fallback);
  std::move(done)(absl::OkStatus());
}

namespace {
// Fills a Get/Fetch-shaped response (or a BatchGet result) from a cached value; an expired
// value is absent.
template <typename Target>
void FillCached(const std::string& key, const CachedValue& v, int64_t now_unix, Target* out) {
  bool live = v.found && !(v.expiration != 0 && v.expiration <= now_unix);
  out->set_found(live);
  if (!live) {
    out->clear_entry();
    return;
  }
  auto* e = out->mutable_entry();
  e->set_key(key);
  e->set_value(v.value);
  e->set_metadata(v.metadata);
  e->set_version(v.version);
  e->set_expiration(v.expiration);
}
}  // namespace

template <typename Request, typename Response>
void EdgeNode::ReadOneCached(const Request& request, Response* response, const CallContext& call,
                             Done done, bool stale_fallback) {
  uint64_t as_of = applied_version();  // before the lookup: the entry is at least this fresh
  if (auto cached = cache_->Lookup(request.key())) {
    FillCached(request.key(), *cached, clock_->UnixSeconds(), response);
    FillInfo(as_of, kvstore::v1::SOURCE_EDGE_CACHE, response->mutable_info());
    response->mutable_info()->set_stale(stale_fallback);
    return std::move(done)(absl::OkStatus());
  }
  if (stale_fallback) {
    return std::move(done)(absl::UnavailableError(
        absl::StrCat("edge ", options_.node_id, " does not hold this key and its upstream ",
                     options_.upstream.address, " is unreachable")));
  }
  // A cold miss: join (or start) the one upstream fetch for this key.
  const int64_t joined = clock_->MonotonicMicros();
  bool leader = cache_->JoinFetch(
      request.key(), joined,
      [this, &request, response, call, joined,
       done = std::move(done)](const FetchOutcome& o) mutable {
        if (!o.status.ok()) {
          return std::move(done)(UpstreamFailed(Route::kLocal, request.options(), o.status));
        }
        if (o.must_forward) {
          return ReadOneUpstream(request, response, call, std::move(done), Route::kLocal);
        }
        FillCached(request.key(), *o.value, clock_->UnixSeconds(), response);
        if (o.info.node_id().empty()) {
          // The stream overtook the fetch: this node's own state answered.
          FillInfo(applied_version(), kvstore::v1::SOURCE_EDGE_CACHE, response->mutable_info());
        } else {
          *response->mutable_info() = o.info;
          response->mutable_info()->set_source(Relabel(o.info.source()));
          response->mutable_info()->set_staleness_micros(
              FetchedStaleness(o.info.staleness_micros(), joined - o.fetch_started_micros));
        }
        std::move(done)(absl::OkStatus());
      });
  if (leader) StartFetch(request.key());
}

void EdgeNode::StartFetch(const std::string& key) {
  auto request = std::make_shared<kvstore::v1::FetchRequest>();
  auto response = std::make_shared<kvstore::v1::FetchResponse>();
  request->set_key(key);
  request->set_node_id(options_.node_id);
  // At least as fresh as this node's own state, so a fetched value never takes a reader back.
  request->mutable_options()->set_min_version(applied_version());
  upstream_->Fetch(request.get(), response.get(), absl::InfiniteFuture(),
                   [this, request, response](absl::Status s) {
                     cache_->FinishFetch(request->key(), s, *response);
                   });
}

template <typename Request, typename Response>
void EdgeNode::ReadOneUpstream(const Request& request, Response* response, const CallContext& call,
                               Done done, Route route) {
  auto answered = [this, &request, response, call, done = std::move(done),
                   route](absl::Status s) mutable {
    if (s.ok()) {
      response->mutable_info()->set_source(Relabel(response->info().source()));
      return std::move(done)(absl::OkStatus());
    }
    if (route == Route::kStale && StaleFallbackAllowed(request.options()) && Unreachable(s)) {
      response->Clear();
      return ReadOneLocal(request, response, call, std::move(done), /*stale_fallback=*/true);
    }
    std::move(done)(UpstreamFailed(route, request.options(), s));
  };
  if constexpr (std::is_same_v<Request, kvstore::v1::FetchRequest>) {
    upstream_->Fetch(&request, response, call.deadline, std::move(answered));
  } else {
    upstream_->Get(&request, response, call.deadline, std::move(answered));
  }
}

void EdgeNode::Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
                   const CallContext& call, Done done) {
  if (auto s = ValidateGet(options_.limits, request); !s.ok()) return std::move(done)(s);
  ReadOne(request, response, call, std::move(done));
}

void EdgeNode::Fetch(const kvstore::v1::FetchRequest& request, kvstore::v1::FetchResponse* response,
                     const CallContext& call, Done done) {
  if (auto s = ValidateFetch(options_.limits, request); !s.ok()) return std::move(done)(s);
  fetches_.fetch_add(1, std::memory_order_relaxed);
  ReadOne(request, response, call, std::move(done));
}

void EdgeNode::BatchGet(const kvstore::v1::BatchGetRequest& request,
                        kvstore::v1::BatchGetResponse* response, const CallContext& call,
                        Done done) {
  if (auto s = ValidateBatchGet(options_.limits, request); !s.ok()) return std::move(done)(s);
  Decide(request.options(), call,
         [this, &request, response, call, done = std::move(done)](Route route) mutable {
           if (route == Route::kLocal) {
             BatchGetLocal(request, response, call, std::move(done), false);
           } else {
             BatchGetUpstream(request, response, call, std::move(done), route);
           }
         });
}

void EdgeNode::BatchGetLocal(const kvstore::v1::BatchGetRequest& request,
                             kvstore::v1::BatchGetResponse* response, const CallContext& call,
                             Done done, bool stale_fallback) {
  if (cache_) return BatchGetCached(request, response, call, std::move(done), stale_fallback);
  uint64_t as_of = applied_version();
  int64_t now = clock_->UnixSeconds();
  for (const std::string& key : request.keys()) {
    auto* result = response->add_results();
    auto read = ReadLocal(*store_, key, now, result->mutable_entry());
    if (!read.ok()) return std::move(done)(read.status());
    if (*read == LocalRead::kValueMissing) {
      response->Clear();
      if (stale_fallback) {
        return std::move(done)(absl::UnavailableError(
            "a requested value is not fetched yet and the upstream is unreachable"));
      }
      return BatchGetUpstream(request, response, call, std::move(done), Route::kLocal);
    }
    result->set_found(*read == LocalRead::kFound);
    if (!result->found()) result->clear_entry();
    result->set_source(kvstore::v1::SOURCE_EDGE_STORE);
  }
  FillInfo(as_of, kvstore::v1::SOURCE_EDGE_STORE, response->mutable_info());
  response->mutable_info()->set_stale(stale_fallback);
  std::move(done)(absl::OkStatus());
}

void EdgeNode::BatchGetCached(const kvstore::v1::BatchGetRequest& request,
                              kvstore::v1::BatchGetResponse* response, const CallContext& call,
                              Done done, bool stale_fallback) {
  // Hits are filled at once; misses join their keys' fetches and the last one to finish
  // answers the batch.
  struct Batch {
    absl::Mutex mu;
    int remaining = 1;  // one extra count for the loop below
    absl::Status error;
    bool forward = false;
    // The answer's staleness: this node's when the hits were read, or older fetched answers'.
    int64_t staleness = 0;
    Done done;
  };
  auto batch = std::make_shared<Batch>();
  batch->done = std::move(done);
  uint64_t as_of = applied_version();
  batch->staleness = freshness_.StalenessMicros();  // with the hits, not when the batch ends
  const int64_t joined = clock_->MonotonicMicros();
  int64_t now = clock_->UnixSeconds();
  for (int i = 0; i < request.keys_size(); ++i) response->add_results();
  auto finish_one = [this, batch, &request, response, call, as_of, stale_fallback]() {
    {
      absl::MutexLock l(&batch->mu);
      if (--batch->remaining > 0) return;
    }
    if (!batch->error.ok()) return std::move(batch->done)(batch->error);
    if (batch->forward) {
      response->Clear();
      return BatchGetUpstream(request, response, call, std::move(batch->done), Route::kLocal);
    }
    FillInfo(as_of, kvstore::v1::SOURCE_EDGE_CACHE, response->mutable_info());
    response->mutable_info()->set_staleness_micros(batch->staleness);
    response->mutable_info()->set_stale(stale_fallback);
    std::move(batch->done)(absl::OkStatus());
  };
  for (int i = 0; i < request.keys_size(); ++i) {
    const std::string& key = request.keys(i);
    auto* result = response->mutable_results(i);
    if (auto cached = cache_->Lookup(key)) {
      FillCached(key, *cached, now, result);
      result->set_source(kvstore::v1::SOURCE_EDGE_CACHE);
      continue;
    }
    if (stale_fallback) {
      absl::MutexLock l(&batch->mu);
      batch->error = absl::UnavailableError(
          absl::StrCat("edge ", options_.node_id, " does not hold every key and its upstream ",
                       options_.upstream.address, " is unreachable"));
      continue;
    }
    {
      absl::MutexLock l(&batch->mu);
      ++batch->remaining;
    }
    bool leader = cache_->JoinFetch(
        key, joined,
        [this, batch, key, result, &request, joined, finish_one](const FetchOutcome& o) {
          {
            absl::MutexLock l(&batch->mu);
            if (!o.status.ok()) {
              if (batch->error.ok()) {
                batch->error = UpstreamFailed(Route::kLocal, request.options(), o.status);
              }
            } else if (o.must_forward) {
              batch->forward = true;
            } else {
              FillCached(key, *o.value, clock_->UnixSeconds(), result);
              result->set_source(o.info.node_id().empty() ? kvstore::v1::SOURCE_EDGE_CACHE
                                                          : Relabel(o.info.source()));
              batch->staleness = std::max(batch->staleness,
                                          o.info.node_id().empty()
                                              ? freshness_.StalenessMicros()
                                              : FetchedStaleness(o.info.staleness_micros(),
                                                                 joined - o.fetch_started_micros));
            }
          }
          finish_one();
        });
    if (leader) StartFetch(key);
  }
  finish_one();
}

void EdgeNode::BatchGetUpstream(const kvstore::v1::BatchGetRequest& request,
                                kvstore::v1::BatchGetResponse* response, const CallContext& call,
                                Done done, Route route) {
  upstream_->BatchGet(
      &request, response, call.deadline,
      [this, &request, response, call, done = std::move(done), route](absl::Status s) mutable {
        if (s.ok()) {
          for (auto& r : *response->mutable_results()) r.set_source(Relabel(r.source()));
          response->mutable_info()->set_source(Relabel(response->info().source()));
          return std::move(done)(absl::OkStatus());
        }
        if (route == Route::kStale && StaleFallbackAllowed(request.options()) && Unreachable(s)) {
          response->Clear();
          return BatchGetLocal(request, response, call, std::move(done), true);
        }
        std::move(done)(UpstreamFailed(route, request.options(), s));
      });
}

void EdgeNode::List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
                    const CallContext& call, Done done) {
  if (auto s = ValidateList(options_.limits, request); !s.ok()) return std::move(done)(s);
  Decide(request.options(), call,
         [this, &request, response, call, done = std::move(done)](Route route) mutable {
           ListLocalOrUpstream(request, response, call, std::move(done), route, false);
         });
}

void EdgeNode::ListLocalOrUpstream(const kvstore::v1::ListRequest& request,
                                   kvstore::v1::ListResponse* response, const CallContext& call,
                                   Done done, Route route, bool stale_fallback) {
  if (cache_ && stale_fallback) {
    return std::move(done)(absl::UnavailableError(absl::StrCat(
        "edge ", options_.node_id, " is a cache edge (List goes upstream) and its upstream ",
        options_.upstream.address, " is unreachable")));
  }
  if (!cache_ && (route == Route::kLocal || stale_fallback)) {
    uint64_t as_of = applied_version();
    auto missing = ListLocal(*store_, options_.limits, request, clock_->UnixSeconds(), response);
    if (!missing.ok()) return std::move(done)(missing.status());
    if (*missing == 0 || stale_fallback) {
      FillInfo(as_of, kvstore::v1::SOURCE_EDGE_STORE, response->mutable_info());
      response->mutable_info()->set_stale(stale_fallback);
      return std::move(done)(absl::OkStatus());
    }
    response->Clear();  // values still being fetched: let the upstream list this page
  }
  upstream_->List(
      &request, response, call.deadline,
      [this, &request, response, call, done = std::move(done), route](absl::Status s) mutable {
        if (s.ok()) {
          response->mutable_info()->set_source(Relabel(response->info().source()));
          return std::move(done)(absl::OkStatus());
        }
        if (route == Route::kStale && StaleFallbackAllowed(request.options()) && Unreachable(s)) {
          response->Clear();
          return ListLocalOrUpstream(request, response, call, std::move(done), route, true);
        }
        std::move(done)(UpstreamFailed(route, request.options(), s));
      });
}

}  // namespace kv::server
