#include "server/access/authorized_node.h"

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "auth/permissions.h"
#include "auth/principal.h"
#include "common/reserved_keys.h"
#include "server/node/limits.h"

namespace kv::server {
namespace {

bool IsAdmin(const CallContext& call) {
  return call.principal != nullptr && call.principal->permissions.IsAdmin();
}

// A List of `prefix` could return reserved keys.
bool MayListReserved(const std::string& prefix) {
  return absl::StartsWith(prefix, kReservedKeyPrefix) ||
         absl::StartsWith(kReservedKeyPrefix, prefix);
}

}  // namespace

void AuthorizedNode::GetStatus(kvstore::v1::StatusResponse* status) {
  node_->GetStatus(status);
  if (gate_ == nullptr) return;
  gate_->FillStatus(status->mutable_auth());
  std::string why_not;
  if (!gate_->Ready(&why_not)) status->set_ready(false);
}

bool AuthorizedNode::Ready(std::string* why_not) {
  if (gate_ != nullptr && !gate_->Ready(why_not)) return false;
  return node_->Ready(why_not);
}

absl::Status AuthorizedNode::ReadRefusal(const CallContext& call, absl::string_view key) {
  if (call.principal != nullptr) return call.principal->permissions.Check(auth::Action::kRead, key);
  if (IsReservedKey(key)) {
    return absl::PermissionDeniedError(auth::MissingScopeMessage(auth::Action::kRead, key));
  }
  return absl::OkStatus();
}

absl::Status AuthorizedNode::CheckRead(const CallContext& call, absl::string_view key) {
  absl::Status s = ReadRefusal(call, key);
  return s.ok() ? s : Deny(std::move(s));
}

absl::Status AuthorizedNode::CheckWrite(const CallContext& call, const std::string& key) {
  if (IsReservedKey(key)) {
    // Cluster data changes only through the Admin API, which validates it.
    return Deny(absl::PermissionDeniedError(absl::StrCat(
        "keys starting with ", kReservedKeyPrefix,
        " are cluster data: they are changed through the Admin API (kvctl auth set-keys)")));
  }
  if (call.principal != nullptr) {
    absl::Status s = call.principal->permissions.Check(auth::Action::kWrite, key);
    if (!s.ok()) return Deny(std::move(s));
  }
  return absl::OkStatus();
}

void AuthorizedNode::Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
                         const CallContext& call, Done done) {
  if (auto s = CheckRead(call, request.key()); !s.ok()) return std::move(done)(s);
  node_->Get(request, response, call, std::move(done));
}

bool AuthorizedNode::TryGetShared(absl::string_view key, const kvstore::v1::ReadOptions& options,
                                  const CallContext& call, SharedRead* out) {
  // A refusal is left to the ordinary Get, which answers and counts it.
  if (!ReadRefusal(call, key).ok()) return false;
  return node_->TryGetShared(key, options, call, out);
}

bool AuthorizedNode::TryBatchGetShared(absl::Span<const absl::string_view> keys,
                                       const kvstore::v1::ReadOptions& options,
                                       const CallContext& call, SharedBatchRead* out) {
  for (absl::string_view key : keys) {
    if (!ReadRefusal(call, key).ok()) return false;
  }
  return node_->TryBatchGetShared(keys, options, call, out);
}

void AuthorizedNode::Fetch(const kvstore::v1::FetchRequest& request,
                           kvstore::v1::FetchResponse* response, const CallContext& call,
                           Done done) {
  if (auto s = CheckRead(call, request.key()); !s.ok()) return std::move(done)(s);
  node_->Fetch(request, response, call, std::move(done));
}

void AuthorizedNode::BatchGet(const kvstore::v1::BatchGetRequest& request,
                              kvstore::v1::BatchGetResponse* response, const CallContext& call,
                              Done done) {
  for (const std::string& key : request.keys()) {
    if (auto s = CheckRead(call, key); !s.ok()) return std::move(done)(s);
  }
  node_->BatchGet(request, response, call, std::move(done));
}

void AuthorizedNode::Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
                         const CallContext& call, Done done) {
  if (auto s = CheckWrite(call, request.key()); !s.ok()) return std::move(done)(s);
  node_->Put(request, response, call, std::move(done));
}

void AuthorizedNode::Delete(const kvstore::v1::DeleteRequest& request,
                            kvstore::v1::DeleteResponse* response, const CallContext& call,
                            Done done) {
  if (auto s = CheckWrite(call, request.key()); !s.ok()) return std::move(done)(s);
  node_->Delete(request, response, call, std::move(done));
}

void AuthorizedNode::Commit(const kvstore::v1::CommitRequest& request,
                            kvstore::v1::CommitResponse* response, const CallContext& call,
                            Done done) {
  for (const auto& m : request.mutations()) {
    if (auto s = CheckWrite(call, CommitMutationKey(m)); !s.ok()) return std::move(done)(s);
  }
  for (const auto& c : request.checks()) {
    if (auto s = CheckRead(call, c.key()); !s.ok()) return std::move(done)(s);
  }
  node_->Commit(request, response, call, std::move(done));
}

absl::Status AuthorizedNode::AuthorizeWatch(const CallContext& call,
                                            const kvstore::v1::WatchRequest& request,
                                            bool* hide_reserved) {
  *hide_reserved = !IsAdmin(call);
  if (!request.keys().empty()) {
    for (const std::string& key : request.keys()) {
      if (auto s = CheckRead(call, key); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (call.principal != nullptr) {
    absl::Status s = call.principal->permissions.Check(auth::Action::kList, request.prefix());
    if (!s.ok()) return Deny(std::move(s));
  } else if (absl::StartsWith(request.prefix(), kReservedKeyPrefix)) {
    return Deny(absl::PermissionDeniedError(
        auth::MissingScopeMessage(auth::Action::kList, request.prefix())));
  }
  return absl::OkStatus();
}

void AuthorizedNode::List(const kvstore::v1::ListRequest& request,
                          kvstore::v1::ListResponse* response, const CallContext& call, Done done) {
  if (call.principal != nullptr) {
    absl::Status s = call.principal->permissions.Check(auth::Action::kList, request.prefix());
    if (!s.ok()) return std::move(done)(Deny(std::move(s)));
  } else if (absl::StartsWith(request.prefix(), kReservedKeyPrefix)) {
    return std::move(done)(Deny(absl::PermissionDeniedError(
        auth::MissingScopeMessage(auth::Action::kList, request.prefix()))));
  }
  if (IsAdmin(call) || !MayListReserved(request.prefix())) {
    return node_->List(request, response, call, std::move(done));
  }
  // "" or "_" or "__kv": the page may hold reserved keys, which this caller must not see. They
  // are dropped from the page; the cursor still moves past them, without naming one: a page
  // that ends on a reserved key gets a cursor past every reserved key the cluster writes (they
  // are printable names, so "__kv/\xff" sorts after all of them).
  node_->List(request, response, call, [response, done = std::move(done)](absl::Status s) mutable {
    if (s.ok()) {
      auto* entries = response->mutable_entries();
      entries->erase(
          std::remove_if(entries->begin(), entries->end(),
                         [](const kvstore::v1::Entry& e) { return IsReservedKey(e.key()); }),
          entries->end());
      if (IsReservedKey(response->next_cursor())) {
        response->set_next_cursor(std::string(kReservedKeyPrefix) + "\xff");
      }
    }
    std::move(done)(s);
  });
}

}  // namespace kv::server
