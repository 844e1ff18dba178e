#include "ha/etcd_client.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "etcd/etcdserver/api/v3election/v3electionpb/v3election.grpc.pb.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace kv::ha {

struct EtcdClient::Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<v3electionpb::Election::Stub> election;
};

namespace {

// The key after every key that starts with `prefix` (etcd's range_end for a prefix).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

EtcdKeyValue FromProto(const mvccpb::KeyValue& kv) {
  EtcdKeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  out.lease = kv.lease();
  return out;
}

absl::Status Failed(const char* call, const grpc::Status& s) {
  absl::Status status = FromGrpcStatus(s);
  return absl::Status(status.code(), absl::StrCat("etcd ", call, ": ", status.message()));
}

}  // namespace

EtcdClient::EtcdClient(const EtcdOptions& options, std::unique_ptr<Stubs> stubs)
    : options_(options), stubs_(std::move(stubs)) {}

EtcdClient::~EtcdClient() = default;

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Connect(const EtcdOptions& options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError("etcd: at least one endpoint (host:port) is required");
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("etcd: timeout must be > 0");
  }
  auto stubs = std::make_unique<Stubs>();
  grpc::ChannelArguments args;
  // Keepalive pings while calls are open, so a connection whose peer went silent (a partition
  // that swallowed the RST, a firewall that forgot the flow, a member frozen) is dropped and
  // redialed: a call's deadline alone fails that call but keeps the dead connection, and every
  // later call times out on it too, for good (found by ha_faults_test's etcd partition: the old
  // leader never reached etcd again after the heal). Not more often than every 5 s: etcd answers
  // pings more frequent than --grpc-keepalive-min-time (5 s) with GOAWAY.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 6000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  // Reconnect quickly: the leader's lease gives it seconds, not gRPC's default 1-120 s backoff.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // (Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: it is also the connect timeout.)
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  stubs->channel =
      grpc::CreateCustomChannel(absl::StrCat("ipv4:", absl::StrJoin(options.endpoints, ",")),
                                grpc::InsecureChannelCredentials(), args);
  stubs->kv = etcdserverpb::KV::NewStub(stubs->channel);
  stubs->lease = etcdserverpb::Lease::NewStub(stubs->channel);
  stubs->election = v3electionpb::Election::NewStub(stubs->channel);
  return std::unique_ptr<EtcdClient>(new EtcdClient(options, std::move(stubs)));
}

namespace {
// Every call waits for a connection up to its deadline rather than failing at once while the
// channel backs off (etcd may be starting, or a member just died and the next is being tried).
void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context->set_wait_for_ready(true);
}

// One unary call of `method` with a deadline of `timeout`; an error names etcd and the method.
template <typename Stub, typename Request, typename Response>
absl::Status Call(Stub* stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                  const char* name, const Request& request, Response* response,
                  absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  grpc::Status s = (stub->*method)(&context, request, response);
  return s.ok() ? absl::OkStatus() : Failed(name, s);
}
}  // namespace

absl::StatusOr<int64_t> EtcdClient::GrantLease(absl::Duration ttl) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(std::max<int64_t>(1, absl::ToInt64Seconds(ttl)));
  etcdserverpb::LeaseGrantResponse response;
  if (absl::Status s = Call(stubs_->lease.get(), &etcdserverpb::Lease::Stub::LeaseGrant,
                            "LeaseGrant", request, &response, options_.timeout);
      !s.ok())
    return s;
  if (!response.error().empty()) {
    return absl::UnavailableError(absl::StrCat("etcd LeaseGrant: ", response.error()));
  }
  return response.id();
}

absl::StatusOr<absl::Duration> EtcdClient::KeepAliveOnce(int64_t lease) {
  grpc::ClientContext context;
  SetDeadline(&context, options_.timeout);
  auto stream = stubs_->lease->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease);
  etcdserverpb::LeaseKeepAliveResponse response;
  if (!stream->Write(request) || !stream->Read(&response)) {
    context.TryCancel();
    grpc::Status s = stream->Finish();
    return Failed("LeaseKeepAlive", s.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                          "the stream ended without an answer")
                                           : s);
  }
  stream->WritesDone();
  context.TryCancel();  // one round trip is all this call wants
  (void)stream->Finish();
  if (response.ttl() <= 0) {
    return absl::NotFoundError(absl::StrCat("etcd lease ", lease, " has expired or was revoked"));
  }
  return absl::Seconds(response.ttl());
}

absl::Status EtcdClient::RevokeLease(int64_t lease) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease);
  etcdserverpb::LeaseRevokeResponse response;
  return Call(stubs_->lease.get(), &etcdserverpb::Lease::Stub::LeaseRevoke, "LeaseRevoke", request,
              &response, options_.timeout);
}

absl::StatusOr<std::optional<EtcdKeyValue>> EtcdClient::Get(const std::string& key) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  etcdserverpb::RangeResponse response;
  if (absl::Status s = Call(stubs_->kv.get(), &etcdserverpb::KV::Stub::Range, "Range", request,
                            &response, options_.timeout);
      !s.ok())
    return s;
  if (response.kvs_size() == 0) return std::nullopt;
  return FromProto(response.kvs(0));
}

absl::StatusOr<std::vector<EtcdKeyValue>> EtcdClient::GetPrefix(const std::string& prefix) {
  etcdserverpb::RangeRequest request;
  request.set_key(prefix.empty() ? std::string(1, '\0') : prefix);
  request.set_range_end(PrefixEnd(prefix));
  request.set_sort_order(etcdserverpb::RangeRequest::ASCEND);
  request.set_sort_target(etcdserverpb::RangeRequest::KEY);
  etcdserverpb::RangeResponse response;
  if (absl::Status s = Call(stubs_->kv.get(), &etcdserverpb::KV::Stub::Range, "Range", request,
                            &response, options_.timeout);
      !s.ok())
    return s;
  std::vector<EtcdKeyValue> out;
  for (const auto& kv : response.kvs()) out.push_back(FromProto(kv));
  return out;
}

absl::StatusOr<bool> EtcdClient::PutIf(const std::string& key, const std::string& value,
                                       int64_t expected_mod_revision, int64_t lease) {
  return Txn({EtcdCompare{key, EtcdCompare::Target::kModRevision, expected_mod_revision}},
             {EtcdPut{key, value, lease}});
}

absl::StatusOr<bool> EtcdClient::Txn(const std::vector<EtcdCompare>& compares,
                                     const std::vector<EtcdPut>& puts) {
  etcdserverpb::TxnRequest request;
  for (const EtcdCompare& c : compares) {
    auto* cmp = request.add_compare();
    cmp->set_key(c.key);
    cmp->set_result(etcdserverpb::Compare::EQUAL);
    if (c.target == EtcdCompare::Target::kCreateRevision) {
      cmp->set_target(etcdserverpb::Compare::CREATE);
      cmp->set_create_revision(c.revision);
    } else {
      cmp->set_target(etcdserverpb::Compare::MOD);
      cmp->set_mod_revision(c.revision);
    }
  }
  for (const EtcdPut& p : puts) {
    auto* put = request.add_success()->mutable_request_put();
    put->set_key(p.key);
    put->set_value(p.value);
    put->set_lease(p.lease);
  }
  etcdserverpb::TxnResponse response;
  if (absl::Status s = Call(stubs_->kv.get(), &etcdserverpb::KV::Stub::Txn, "Txn", request,
                            &response, options_.timeout);
      !s.ok())
    return s;
  return response.succeeded();
}

absl::Status EtcdClient::Delete(const std::string& key) {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(key);
  etcdserverpb::DeleteRangeResponse response;
  return Call(stubs_->kv.get(), &etcdserverpb::KV::Stub::DeleteRange, "DeleteRange", request,
              &response, options_.timeout);
}

absl::StatusOr<LeaderKey> EtcdClient::Campaign(const std::string& name, const std::string& value,
                                               int64_t lease, absl::Duration timeout) {
  v3electionpb::CampaignRequest request;
  request.set_name(name);
  request.set_value(value);
  request.set_lease(lease);
  v3electionpb::CampaignResponse response;
  if (absl::Status s = Call(stubs_->election.get(), &v3electionpb::Election::Stub::Campaign,
                            "Campaign", request, &response, timeout);
      !s.ok())
    return s;
  LeaderKey leader;
  leader.name = response.leader().name();
  leader.key = response.leader().key();
  leader.revision = response.leader().rev();
  leader.lease = response.leader().lease();
  return leader;
}

absl::StatusOr<std::optional<EtcdKeyValue>> EtcdClient::Leader(const std::string& name) {
  v3electionpb::LeaderRequest request;
  request.set_name(name);
  v3electionpb::LeaderResponse response;
  absl::Status s = Call(stubs_->election.get(), &v3electionpb::Election::Stub::Leader, "Leader",
                        request, &response, options_.timeout);
  if (absl::IsUnknown(s) && absl::StrContains(s.message(), "no leader")) {
    return std::nullopt;  // etcd's ErrElectionNoLeader
  }
  if (!s.ok()) return s;
  if (!response.has_kv()) return std::nullopt;
  return FromProto(response.kv());
}

namespace {
void ToProto(const LeaderKey& leader, v3electionpb::LeaderKey* out) {
  out->set_name(leader.name);
  out->set_key(leader.key);
  out->set_rev(leader.revision);
  out->set_lease(leader.lease);
}
}  // namespace

absl::Status EtcdClient::Proclaim(const LeaderKey& leader, const std::string& value) {
  v3electionpb::ProclaimRequest request;
  ToProto(leader, request.mutable_leader());
  request.set_value(value);
  v3electionpb::ProclaimResponse response;
  absl::Status s = Call(stubs_->election.get(), &v3electionpb::Election::Stub::Proclaim, "Proclaim",
                        request, &response, options_.timeout);
  if (absl::StrContains(s.message(), "not leader")) {
    return absl::FailedPreconditionError(s.message());
  }
  if (!s.ok()) return s;
  return absl::OkStatus();
}

absl::Status EtcdClient::Resign(const LeaderKey& leader) {
  v3electionpb::ResignRequest request;
  ToProto(leader, request.mutable_leader());
  v3electionpb::ResignResponse response;
  return Call(stubs_->election.get(), &v3electionpb::Election::Stub::Resign, "Resign", request,
              &response, options_.timeout);
}

}  // namespace kv::ha
