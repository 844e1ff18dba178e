#include "server/ha/ha_node.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/node/forwarded_read.h"

namespace kv::server {
namespace {

absl::Status NoLeader() {
  return absl::UnavailableError(
      "no leader is known to this central node yet (a failover is in progress?); retry");
}

}  // namespace

template <typename Request, typename Response, typename Local, typename Upstream>
void HaNode::Read(const Request& request, Response* response, const CallContext& call, Done done,
                  Local local, Upstream upstream) {
  // The leader answers as a central node alone, while its lease can be trusted.
  if (ha_->LeaderTrusted()) return local(std::move(done));
  const kvstore::v1::ReadOptions& options = request.options();
  ReadRouteFacts facts;
  facts.strong = options.consistency() == kvstore::v1::CONSISTENCY_STRONG;
  facts.bound_micros = options.max_staleness_micros() > 0
                           ? options.max_staleness_micros()
                           : absl::ToInt64Microseconds(max_staleness_);
  facts.min_version = options.min_version();
  facts.staleness_micros = ha_->StalenessMicros();
  facts.applied_version = central_->store()->head_version();
  facts.local_suspect = central_->store()->snapshot_incomplete();
  const ReadRoute route = RouteRead(facts);
  // Wraps the Done of a local read; called just before the read starts, so the staleness it
  // takes then is one the answer holds (taken after, a pong credited meanwhile could vouch for
  // versions the answer lacks).
  auto answer_here = [this, response](Done done, bool stale) {
    const int64_t staleness = ha_->StalenessMicros();
    return [response, stale, staleness, done = std::move(done)](absl::Status s) mutable {
      if (s.ok()) {
        kvstore::v1::ReadInfo* info = response->mutable_info();
        info->set_staleness_micros(staleness);
        info->set_stale(stale);
      }
      std::move(done)(s);
    };
  };
  if (route == ReadRoute::kLocal) return local(answer_here(std::move(done), false));
  std::shared_ptr<UpstreamClient> leader = ha_->leader();
  if (leader == nullptr) {
    if (FallBackToStale(route, NoLeader(), options.allow_stale(), facts)) {
      return local(answer_here(std::move(done), true));
    }
    return std::move(done)(NoLeader());
  }
  // The leader it names may have just stepped down, with a looser default of its own.
  std::unique_ptr<Request> pinned;
  const Request* forwarded = WithBound(request, facts.bound_micros, &pinned);
  upstream(leader, forwarded,
           [this, leader, route, options, facts, local, answer_here, pinned = std::move(pinned),
            done = std::move(done)](absl::Status s) mutable {
             if (!s.ok() && FallBackToStale(route, s, options.allow_stale(), facts)) {
               return local(answer_here(std::move(done), true));
             }
             std::move(done)(s);
           });
}

void HaNode::Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
                 const CallContext& call, Done done) {
  Read(
      request, response, call, std::move(done),
      [this, &request, response, call](Done d) {
        response->Clear();
        central_->Get(request, response, call, std::move(d));
      },
      [response, call](const std::shared_ptr<UpstreamClient>& leader,
                       const kvstore::v1::GetRequest* forwarded,
                       Done d) { leader->Get(forwarded, response, call, std::move(d)); });
}

void HaNode::BatchGet(const kvstore::v1::BatchGetRequest& request,
                      kvstore::v1::BatchGetResponse* response, const CallContext& call, Done done) {
  Read(
      request, response, call, std::move(done),
      [this, &request, response, call](Done d) {
        response->Clear();
        central_->BatchGet(request, response, call, std::move(d));
      },
      [response, call](const std::shared_ptr<UpstreamClient>& leader,
                       const kvstore::v1::BatchGetRequest* forwarded,
                       Done d) { leader->BatchGet(forwarded, response, call, std::move(d)); });
}

void HaNode::List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
                  const CallContext& call, Done done) {
  Read(
      request, response, call, std::move(done),
      [this, &request, response, call](Done d) {
        response->Clear();
        central_->List(request, response, call, std::move(d));
      },
      [response, call](const std::shared_ptr<UpstreamClient>& leader,
                       const kvstore::v1::ListRequest* forwarded,
                       Done d) { leader->List(forwarded, response, call, std::move(d)); });
}

void HaNode::Fetch(const kvstore::v1::FetchRequest& request, kvstore::v1::FetchResponse* response,
                   const CallContext& call, Done done) {
  // Read before the store is: the answer then holds everything this staleness promises.
  const bool leads = ha_->LeaderTrusted();
  const int64_t staleness = leads ? 0 : ha_->StalenessMicros();
  if (!leads && request.options().min_version() > central_->store()->head_version()) {
    // The downstream already holds a version this standby has not committed yet (it followed
    // the leader, then moved here): the leader answers, or the downstream retries.
    std::shared_ptr<UpstreamClient> leader = ha_->leader();
    if (leader == nullptr) {
      return std::move(done)(absl::UnavailableError(absl::StrCat(
          "this standby is at version ", central_->store()->head_version(), ", below min_version ",
          request.options().min_version(), ", and no leader is known; retry")));
    }
    return leader->Fetch(
        &request, response, call.deadline, call.hops,
        [leader, done = std::move(done)](absl::Status s) mutable { std::move(done)(s); });
  }
  central_->Fetch(request, response, call,
                  [response, staleness, done = std::move(done)](absl::Status s) mutable {
                    if (s.ok()) {
                      response->mutable_info()->set_staleness_micros(
                          std::max(staleness, response->info().staleness_micros()));
                    }
                    std::move(done)(s);
                  });
}

template <typename Forward>
void HaNode::Write(Done done, Forward forward) {
  if (ha_->role() == HaController::Role::kLeader) return forward(nullptr, std::move(done));
  std::shared_ptr<UpstreamClient> leader = ha_->leader();
  if (leader == nullptr) return std::move(done)(NoLeader());
  // The client is kept alive until the leader has answered.
  forward(leader, [leader, done = std::move(done)](absl::Status s) mutable { std::move(done)(s); });
}

void HaNode::Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
                 const CallContext& call, Done done) {
  Write(std::move(done),
        [this, &request, response, call](const std::shared_ptr<UpstreamClient>& leader, Done d) {
          if (leader == nullptr) return central_->Put(request, response, call, std::move(d));
          leader->Put(&request, response, call, std::move(d));
        });
}

void HaNode::Delete(const kvstore::v1::DeleteRequest& request,
                    kvstore::v1::DeleteResponse* response, const CallContext& call, Done done) {
  Write(std::move(done),
        [this, &request, response, call](const std::shared_ptr<UpstreamClient>& leader, Done d) {
          if (leader == nullptr) return central_->Delete(request, response, call, std::move(d));
          leader->Delete(&request, response, call, std::move(d));
        });
}

void HaNode::Commit(const kvstore::v1::CommitRequest& request,
                    kvstore::v1::CommitResponse* response, const CallContext& call, Done done) {
  Write(std::move(done),
        [this, &request, response, call](const std::shared_ptr<UpstreamClient>& leader, Done d) {
          if (leader == nullptr) return central_->Commit(request, response, call, std::move(d));
          leader->Commit(&request, response, call, std::move(d));
        });
}

void HaNode::SetKeySet(const kvstore::v1::SetKeySetRequest& request,
                       kvstore::v1::SetKeySetResponse* response, const CallContext& call,
                       Done done) {
  if (ha_->role() == HaController::Role::kLeader) {
    return central_->SetKeySet(request, response, call, std::move(done));
  }
  std::string leader = ha_->leader_address();
  std::move(done)(absl::FailedPreconditionError(
      leader.empty()
          ? std::string("no leader is known yet; retry against the leader")
          : absl::StrCat("this central node is a standby; send this to the leader at ", leader)));
}

void HaNode::GetStatus(kvstore::v1::StatusResponse* status) {
  central_->GetStatus(status);
  status->set_ha_role(HaController::RoleName(ha_->role()));
  status->set_ha_epoch(ha_->epoch());
  status->set_ha_leader(ha_->leader_address());
  for (const std::string& id : ha_->in_sync()) status->add_ha_in_sync(id);
}

}  // namespace kv::server
