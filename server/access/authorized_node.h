#pragma once
// The node as a caller with a verified token sees it: every KV call is checked against the
// caller's scopes (auth/permissions.h) before it reaches the node role, so a refusal costs the
// node (and an edge's upstream) nothing. The same checks run for gRPC, HTTP and RESP, since all
// of them call this.
//
//   Get, Fetch        read:  the key
//   BatchGet          read:  every key (one missing scope refuses the whole call)
//   List              read:  the whole listed prefix; a List of "" or "_" also hides the
//                            reserved namespace from callers without admin
//   Put, Delete       write: the key
//   Commit            write: every mutated key, and read: every checked key (one missing
//                            scope refuses the whole commit, and nothing is applied)
//   Watch             read:  the whole watched prefix (as List), or every listed key (as
//                            BatchGet); a watch of "" or "_" never sees reserved keys without
//                            admin (AuthorizeWatch; the stream itself is served by the WatchHub)
//   GetStatus         (Admin calls are checked by the Admin service: admin)
//
// The reserved namespace (common/reserved_keys.h) is never writable through the KV API (the
// Admin API validates and commits cluster data) and is readable only with `admin`, also when the
// node runs without tokens. A refusal is PERMISSION_DENIED naming the missing scope, never a
// value; it is counted by the Gatekeeper.
//
// Threading and ownership: as the wrapped Node, which must outlive this; stateless otherwise.

#include "server/access/gatekeeper.h"
#include "server/node/node.h"

namespace kv::server {

class AuthorizedNode final : public Node {
 public:
  // `gatekeeper` (may be null: nothing counted) counts the refusals.
  AuthorizedNode(Node* node, Gatekeeper* gatekeeper) : node_(node), gate_(gatekeeper) {}

  void Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
           const CallContext& call, Done done) override;
  void BatchGet(const kvstore::v1::BatchGetRequest& request,
                kvstore::v1::BatchGetResponse* response, const CallContext& call,
                Done done) override;
  void Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
           const CallContext& call, Done done) override;
  void Delete(const kvstore::v1::DeleteRequest& request, kvstore::v1::DeleteResponse* response,
              const CallContext& call, Done done) override;
  void List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
            const CallContext& call, Done done) override;
  void Commit(const kvstore::v1::CommitRequest& request, kvstore::v1::CommitResponse* response,
              const CallContext& call, Done done) override;
  void Fetch(const kvstore::v1::FetchRequest& request, kvstore::v1::FetchResponse* response,
             const CallContext& call, Done done) override;
  // As Get and BatchGet: the same read scopes, checked before the node is asked.
  bool TryGetShared(absl::string_view key, const kvstore::v1::ReadOptions& options,
                    const CallContext& call, SharedRead* out) override;
  bool TryBatchGetShared(absl::Span<const absl::string_view> keys,
                         const kvstore::v1::ReadOptions& options, const CallContext& call,
                         SharedBatchRead* out) override;
  // Passed on unchecked: a hint answers nothing and records nothing, and the commands that
  // follow it are checked as usual.
  void PrefetchReads(absl::Span<const absl::string_view> keys) override {
    node_->PrefetchReads(keys);
  }
  // The node's Status with this node's token checking; not ready while tokens are required
  // and no key set has arrived.
  void GetStatus(kvstore::v1::StatusResponse* status) override;
  bool Ready(std::string* why_not) override;

  // KV.Watch (and GET /v1/watch) are streams served by the node's WatchHub, not Node calls:
  // OK when the caller may watch `request`. Sets `hide_reserved` when reserved keys must be
  // filtered out of the stream (a prefix that overlaps the namespace, a caller without admin).
  absl::Status AuthorizeWatch(const CallContext& call, const kvstore::v1::WatchRequest& request,
                              bool* hide_reserved);

 private:
  // OK when the caller may read `key`, else the refusal (not counted).
  static absl::Status ReadRefusal(const CallContext& call, absl::string_view key);
  // ReadRefusal, counting a refusal.
  absl::Status CheckRead(const CallContext& call, absl::string_view key);
  absl::Status CheckWrite(const CallContext& call, const std::string& key);
  // Counts a refusal and returns it.
  absl::Status Deny(absl::Status status) {
    return gate_ != nullptr ? gate_->Denied(std::move(status)) : status;
  }

  Node* const node_;
  Gatekeeper* const gate_;
};

}  // namespace kv::server
