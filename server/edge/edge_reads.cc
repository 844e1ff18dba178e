// EdgeNode's reads: Get, Fetch, BatchGet and List, each routed by EdgeNode::Decide to the mode's
// local answer or to the upstream.

#include <memory>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "server/edge/edge_node.h"
#include "server/edge/relabel.h"
#include "server/node/forwarded_read.h"
#include "server/node/limits.h"

namespace kv::server {

template <typename Request, typename Response>
void EdgeNode::ReadOne(const Request& request, Response* response, const CallContext& call,
                       Done done) {
  // Most reads are routed at once: no continuation to allocate and no copy of the context.
  if (const Route route = RouteNow(request.options()); route != Route::kBehind) {
    if (route == Route::kLocal) {
      return ReadLocal(request, response, call, std::move(done), /*stale_fallback=*/false);
    }
    return ReadUpstream(request, response, call, std::move(done), route);
  }
  Decide(request.options(), call,
         [this, &request, response, call, done = std::move(done)](Route route) mutable {
           if (route == Route::kLocal) {
             ReadLocal(request, response, call, std::move(done), /*stale_fallback=*/false);
           } else {
             ReadUpstream(request, response, call, std::move(done), route);
           }
         });
}

template <typename Request, typename Response, typename StaleLocal>
void EdgeNode::ForwardRead(const Request& request, Response* response, const CallContext& call,
                           Done done, Route route, StaleLocal stale_local) {
  std::unique_ptr<Request> pinned;
  const Request* forwarded = WithBound(request, BoundMicros(request.options()), &pinned);
  auto answered = [this, &request, response, done = std::move(done), route,
                   stale_local = std::move(stale_local),
                   pinned = std::move(pinned)](absl::Status s) mutable {
    if (s.ok()) {
      if constexpr (std::is_same_v<Response, kvstore::v1::BatchGetResponse>) {
        for (auto& r : *response->mutable_results()) r.set_source(Relabel(r.source()));
      }
      response->mutable_info()->set_source(Relabel(response->info().source()));
      return std::move(done)(absl::OkStatus());
    }
    if (FallBackToStale(route, request.options(), s)) {
      response->Clear();
      return stale_local(std::move(done));
    }
    std::move(done)(UpstreamFailed(route, request.options(), s));
  };
  if constexpr (std::is_same_v<Request, kvstore::v1::FetchRequest>) {
    upstream_.Fetch(forwarded, response, call.deadline, call.hops, std::move(answered));
  } else if constexpr (std::is_same_v<Request, kvstore::v1::BatchGetRequest>) {
    upstream_.BatchGet(forwarded, response, call, std::move(answered));
  } else if constexpr (std::is_same_v<Request, kvstore::v1::ListRequest>) {
    upstream_.List(forwarded, response, call, std::move(answered));
  } else {
    upstream_.Get(forwarded, response, call, std::move(answered));
  }
}

void EdgeNode::ReadUpstream(const kvstore::v1::GetRequest& request,
                            kvstore::v1::GetResponse* response, const CallContext& call, Done done,
                            Route route) {
  ForwardRead(request, response, call, std::move(done), route,
              [this, &request, response, call](Done d) {
                ReadLocal(request, response, call, std::move(d), /*stale_fallback=*/true);
              });
}

void EdgeNode::ReadUpstream(const kvstore::v1::FetchRequest& request,
                            kvstore::v1::FetchResponse* response, const CallContext& call,
                            Done done, Route route) {
  ForwardRead(request, response, call, std::move(done), route,
              [this, &request, response, call](Done d) {
                ReadLocal(request, response, call, std::move(d), /*stale_fallback=*/true);
              });
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
             BatchGetLocal(request, response, call, std::move(done), /*stale_fallback=*/false);
           } else {
             BatchGetUpstream(request, response, call, std::move(done), route);
           }
         });
}

bool EdgeNode::TryGetShared(absl::string_view key, const kvstore::v1::ReadOptions& options,
                            const CallContext& call, SharedRead* out) {
  if (!HasSharedReads()) return false;
  if (!ValidateKey(options_.limits, key).ok() || !ValidateReadOptions(options).ok()) return false;
  // One sample routes the read and labels it; taken before the read, as FillInfo's.
  const int64_t staleness = freshness()->StalenessMicros();
  return RouteNow(options, staleness) == Route::kLocal && ReadLocalShared(key, staleness, out);
}

bool EdgeNode::TryBatchGetShared(absl::Span<const absl::string_view> keys,
                                 const kvstore::v1::ReadOptions& options, const CallContext& call,
                                 SharedBatchRead* out) {
  // What ValidateBatchGet checks; a refusal is left to the ordinary BatchGet to answer.
  if (!HasSharedReads() || !ValidateBatchKeys(options_.limits, keys).ok() ||
      !ValidateReadOptions(options).ok()) {
    return false;
  }
  const int64_t staleness = freshness()->StalenessMicros();  // as TryGetShared's
  return RouteNow(options, staleness) == Route::kLocal && BatchGetLocalShared(keys, staleness, out);
}

void EdgeNode::BatchGetUpstream(const kvstore::v1::BatchGetRequest& request,
                                kvstore::v1::BatchGetResponse* response, const CallContext& call,
                                Done done, Route route) {
  ForwardRead(request, response, call, std::move(done), route,
              [this, &request, response, call](Done d) {
                BatchGetLocal(request, response, call, std::move(d), /*stale_fallback=*/true);
              });
}

void EdgeNode::List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
                    const CallContext& call, Done done) {
  if (auto s = ValidateList(options_.limits, request); !s.ok()) return std::move(done)(s);
  Decide(request.options(), call,
         [this, &request, response, call, done = std::move(done)](Route route) mutable {
           ListRouted(request, response, call, std::move(done), route, /*stale_fallback=*/false);
         });
}

void EdgeNode::ListRouted(const kvstore::v1::ListRequest& request,
                          kvstore::v1::ListResponse* response, const CallContext& call, Done done,
                          Route route, bool stale_fallback) {
  if (route == Route::kLocal || stale_fallback) {
    if (std::optional<absl::Status> answered = ListLocal(request, response, stale_fallback)) {
      return std::move(done)(*answered);
    }
    response->Clear();  // this page must be listed upstream
  }
  ForwardRead(request, response, call, std::move(done), route,
              [this, &request, response, call, route](Done d) {
                ListRouted(request, response, call, std::move(d), route, /*stale_fallback=*/true);
              });
}

}  // namespace kv::server
