#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/client_impl.h"
#include "client/convert.h"
#include "client/retry.h"
#include "client/watch.h"
#include "client/write_outcome.h"
#include "common/grpc_status.h"

namespace kv::client {
namespace {

constexpr int kMinMessageBytes = 26 << 20;
constexpr size_t kMaxBatchKeys = 100;

std::vector<std::string> ReadAddresses(const ClientOptions& o) {
  return o.read_endpoints.empty() ? std::vector<std::string>{o.write_endpoint} : o.read_endpoints;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Create(const ClientOptions& options) {
  if (options.write_endpoint.empty()) {
    return absl::InvalidArgumentError("write_endpoint: must not be empty");
  }
  for (const std::string& e : options.read_endpoints) {
    if (e.empty()) return absl::InvalidArgumentError("read_endpoints: empty address");
  }
  if (options.max_message_bytes < kMinMessageBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_message_bytes: must be >= ", kMinMessageBytes,
                     " (26 MiB, values can be 25 MiB), got ", options.max_message_bytes));
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout: must be > 0");
  }
  if (options.retry.max_attempts < 1) {
    return absl::InvalidArgumentError("retry.max_attempts: must be >= 1");
  }
  absl::StatusOr<tls::ClientChannelSecurity> security =
      tls::ClientChannelSecurity::Make(ToTlsFiles(options.tls), options.bearer_token);
  if (!security.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("tls: ", security.status().message()));
  }
  return std::unique_ptr<Client>(new ClientImpl(options, Clock::Real(), *std::move(security)));
}

ClientImpl::ClientImpl(const ClientOptions& options, Clock* clock,
                       tls::ClientChannelSecurity security)
    : options_(options),
      clock_(clock),
      security_(std::move(security)),
      write_(
          std::make_unique<Endpoint>(options.write_endpoint, options.max_message_bytes, security_)),
      reads_(ReadAddresses(options), options.max_message_bytes, options.endpoint_cooldown, clock,
             security_) {}

void ClientImpl::ObserveVersion(uint64_t v) {
  uint64_t cur = session_.load();
  while (cur < v && !session_.compare_exchange_weak(cur, v)) {
  }
}

bool ClientImpl::SessionApplies(const ReadOptions& options) const {
  return options_.session && options.use_session;
}

uint64_t ClientImpl::MinVersionFor(const ReadOptions& options) const {
  uint64_t v = options.min_version;
  if (SessionApplies(options)) v = std::max(v, session_.load());
  return v;
}

absl::Time ClientImpl::DeadlineFor(absl::Duration timeout) const {
  return absl::Now() + (timeout > absl::ZeroDuration() ? timeout : options_.timeout);
}

absl::Status ClientImpl::CallWithRetries(EndpointSet* set, Endpoint* single, absl::Duration timeout,
                                         const Attempt& attempt, std::string* answered_by) {
  const absl::Time deadline = DeadlineFor(timeout);
  const RetryPolicy& policy = options_.retry;
  grpc::Status last(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed before any attempt");
  for (int round = 0; round < policy.max_attempts; ++round) {
    if (round > 0) {
      absl::Duration sleep = Backoff(policy, round, UnitRandom());
      if (absl::Now() + sleep >= deadline) break;
      absl::SleepFor(sleep);
    }
    // Within a round, fail over along the endpoints without sleeping.
    std::vector<Endpoint*> order = set != nullptr ? set->Order() : std::vector<Endpoint*>{single};
    for (Endpoint* endpoint : order) {
      const absl::Time now = absl::Now();
      if (now >= deadline) return FromGrpcStatus(last);
      absl::Time attempt_deadline = deadline;
      if (policy.per_attempt_timeout > absl::ZeroDuration()) {
        attempt_deadline = std::min(deadline, now + policy.per_attempt_timeout);
      }
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(attempt_deadline));
      Authorize(&context);
      grpc::Status s = attempt(*endpoint, context);
      if (s.ok()) {
        if (set != nullptr) set->MarkHealthy(endpoint);
        if (answered_by != nullptr) *answered_by = endpoint->address;
        return absl::OkStatus();
      }
      if (!IsRetryable(s, attempt_deadline < deadline)) return FromGrpcStatus(s);
      if (set != nullptr) set->MarkFailed(endpoint);
      last = s;
    }
  }
  return FromGrpcStatus(last);
}

absl::StatusOr<GetResult> ClientImpl::DoGet(absl::string_view key, const ReadOptions& options) {
  kvstore::v1::GetRequest request;
  request.set_key(key.data(), key.size());
  ToProto(options, MinVersionFor(options), request.mutable_options());
  kvstore::v1::GetResponse response;
  std::string endpoint;
  absl::Status s = CallWithRetries(
      &reads_, nullptr, options.timeout,
      [&](Endpoint& e, grpc::ClientContext& ctx) {
        response.Clear();
        return e.kv->Get(&ctx, request, &response);
      },
      &endpoint);
  if (!s.ok()) return s;
  GetResult result;
  result.found = response.found();
  if (result.found) result.entry = FromProto(response.entry());
  result.info = FromProto(response.info(), endpoint);
  if (SessionApplies(options)) {
    ObserveVersion(result.found ? result.entry.version : result.info.as_of_version);
  }
  return result;
}

absl::StatusOr<BatchGetResult> ClientImpl::DoBatchGet(const std::vector<std::string>& keys,
                                                      const ReadOptions& options) {
  if (keys.empty() || keys.size() > kMaxBatchKeys) {
    return absl::InvalidArgumentError(
        absl::StrCat("keys: BatchGet takes 1..", kMaxBatchKeys, " keys, got ", keys.size()));
  }
  kvstore::v1::BatchGetRequest request;
  for (const std::string& k : keys) request.add_keys(k);
  ToProto(options, MinVersionFor(options), request.mutable_options());
  kvstore::v1::BatchGetResponse response;
  std::string endpoint;
  absl::Status s = CallWithRetries(
      &reads_, nullptr, options.timeout,
      [&](Endpoint& e, grpc::ClientContext& ctx) {
        response.Clear();
        return e.kv->BatchGet(&ctx, request, &response);
      },
      &endpoint);
  if (!s.ok()) return s;
  BatchGetResult result;
  result.info = FromProto(response.info(), endpoint);
  uint64_t seen = 0;
  for (const auto& r : response.results()) {
    BatchGetResult::Item item;
    item.found = r.found();
    if (item.found) item.entry = FromProto(r.entry());
    item.source = FromProto(r.source());
    seen = std::max(seen, item.found ? item.entry.version : result.info.as_of_version);
    result.items.push_back(std::move(item));
  }
  if (SessionApplies(options)) ObserveVersion(seen);
  return result;
}

absl::StatusOr<ListResult> ClientImpl::DoList(const ListOptions& list, const ReadOptions& options) {
  kvstore::v1::ListRequest request;
  request.set_prefix(list.prefix);
  request.set_cursor(list.cursor);
  request.set_limit(list.limit);
  request.set_include_values(list.include_values);
  ToProto(options, MinVersionFor(options), request.mutable_options());
  kvstore::v1::ListResponse response;
  std::string endpoint;
  absl::Status s = CallWithRetries(
      &reads_, nullptr, options.timeout,
      [&](Endpoint& e, grpc::ClientContext& ctx) {
        response.Clear();
        return e.kv->List(&ctx, request, &response);
      },
      &endpoint);
  if (!s.ok()) return s;
  ListResult result;
  result.info = FromProto(response.info(), endpoint);
  result.next_cursor = response.next_cursor();
  uint64_t seen = 0;
  for (const auto& e : response.entries()) {
    result.entries.push_back(FromProto(e));
    seen = std::max(seen, e.version());
  }
  // An empty page still proves the listing was judged at as_of_version.
  if (result.entries.empty()) seen = result.info.as_of_version;
  if (SessionApplies(options)) ObserveVersion(seen);
  return result;
}

template <typename Request, typename Response>
absl::Status ClientImpl::Write(const Request& request, Response* response, absl::Duration timeout,
                               grpc::Status (kvstore::v1::KV::Stub::*rpc)(grpc::ClientContext*,
                                                                          const Request&,
                                                                          Response*)) {
  const absl::Time deadline = DeadlineFor(timeout);
  if (absl::Status s = AwaitConnection(*write_->channel, write_->address, deadline); !s.ok()) {
    return s;
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  Authorize(&context);
  // Not retried: a write whose answer was lost may have been committed.
  grpc::Status s = ((*write_->kv).*rpc)(&context, request, response);
  if (!s.ok()) return WriteFailure(s);
  if (options_.session) ObserveVersion(response->version());
  return absl::OkStatus();
}

absl::StatusOr<PutResult> ClientImpl::DoPut(absl::string_view key, absl::string_view value,
                                            const PutOptions& options) {
  kvstore::v1::PutRequest request;
  if (absl::Status s = ToProto(key, value, options, &request); !s.ok()) return s;
  kvstore::v1::PutResponse response;
  if (absl::Status s = Write(request, &response, options.timeout, &kvstore::v1::KV::Stub::Put);
      !s.ok()) {
    return s;
  }
  return PutResult{response.version(), response.expiration()};
}

absl::StatusOr<DeleteResult> ClientImpl::DoDelete(absl::string_view key,
                                                  const DeleteOptions& options) {
  kvstore::v1::DeleteRequest request;
  request.set_key(key.data(), key.size());
  if (options.if_version.has_value()) request.set_if_version(*options.if_version);
  kvstore::v1::DeleteResponse response;
  if (absl::Status s = Write(request, &response, options.timeout, &kvstore::v1::KV::Stub::Delete);
      !s.ok()) {
    return s;
  }
  return DeleteResult{response.deleted(), response.version()};
}

absl::StatusOr<CommitResult> ClientImpl::DoCommit(const std::vector<CommitCheck>& checks,
                                                  const std::vector<CommitMutation>& mutations,
                                                  const CommitOptions& options) {
  kvstore::v1::CommitRequest request;
  if (absl::Status s = ToProto(checks, mutations, &request); !s.ok()) return s;
  kvstore::v1::CommitResponse response;
  if (absl::Status s = Write(request, &response, options.timeout, &kvstore::v1::KV::Stub::Commit);
      !s.ok()) {
    return s;
  }
  return CommitResult{response.version(),
                      std::vector<int64_t>(response.counters().begin(), response.counters().end())};
}

Endpoint* ClientImpl::AdminEndpoint(const std::string& address) {
  if (address.empty() || address == write_->address) return write_.get();
  if (Endpoint* e = reads_.Find(address)) return e;
  absl::MutexLock l(&admin_mu_);
  auto& slot = admin_endpoints_[address];
  if (!slot) slot = std::make_unique<Endpoint>(address, options_.max_message_bytes, security_);
  return slot.get();
}

absl::StatusOr<kvstore::v1::StatusResponse> ClientImpl::StatusProto(absl::string_view endpoint,
                                                                    absl::Duration timeout) {
  Endpoint* target = AdminEndpoint(std::string(endpoint));
  kvstore::v1::StatusRequest request;
  kvstore::v1::StatusResponse response;
  absl::Status s = CallWithRetries(
      nullptr, target, timeout,
      [&](Endpoint& e, grpc::ClientContext& ctx) {
        response.Clear();
        return e.admin->Status(&ctx, request, &response);
      },
      nullptr);
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<kvstore::v1::SetKeySetResponse> ClientImpl::SetKeySet(const std::string& jwks,
                                                                     absl::Duration timeout) {
  kvstore::v1::SetKeySetRequest request;
  request.set_jwks(jwks);
  kvstore::v1::SetKeySetResponse response;
  absl::Status s = CallWithRetries(
      nullptr, write_.get(), timeout,
      [&](Endpoint& e, grpc::ClientContext& ctx) {
        response.Clear();
        return e.admin->SetKeySet(&ctx, request, &response);
      },
      nullptr);
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<kvstore::v1::BackupResponse> ClientImpl::Backup(const std::string& dest,
                                                               absl::Duration timeout) {
  kvstore::v1::BackupRequest request;
  request.set_dest(dest);
  kvstore::v1::BackupResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  Authorize(&context);
  grpc::Status s = write_->admin->Backup(&context, request, &response);
  if (!s.ok()) return FromGrpcStatus(s);
  return response;
}

absl::StatusOr<NodeStatus> ClientImpl::DoStatus(absl::string_view endpoint,
                                                absl::Duration timeout) {
  absl::StatusOr<kvstore::v1::StatusResponse> status = StatusProto(endpoint, timeout);
  if (!status.ok()) return status.status();
  return FromProto(*status, endpoint.empty() ? write_->address : std::string(endpoint));
}

std::unique_ptr<Watch> ClientImpl::DoWatch(const WatchOptions& options,
                                           absl::AnyInvocable<void(const WatchUpdate&)> on_update) {
  return StartClientWatch(this, options, std::move(on_update));
}

}  // namespace kv::client
