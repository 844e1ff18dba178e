#pragma once
// A Node that hands every call to another Node: the base of decorators that change one or two
// answers (Status, readiness) and leave the calls alone (SelfCheckedNode, TlsStatusNode).
// Threading and ownership: as the wrapped node, which must outlive this.

#include <string>

#include "server/node/node.h"

namespace kv::server {

class ForwardingNode : public Node {
 public:
  explicit ForwardingNode(Node* node) : node_(node) {}

  void Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
           const CallContext& call, Done done) override {
    node_->Get(request, response, call, std::move(done));
  }
  void BatchGet(const kvstore::v1::BatchGetRequest& request,
                kvstore::v1::BatchGetResponse* response, const CallContext& call,
                Done done) override {
    node_->BatchGet(request, response, call, std::move(done));
  }
  void Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
           const CallContext& call, Done done) override {
    node_->Put(request, response, call, std::move(done));
  }
  void Delete(const kvstore::v1::DeleteRequest& request, kvstore::v1::DeleteResponse* response,
              const CallContext& call, Done done) override {
    node_->Delete(request, response, call, std::move(done));
  }
  void List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
            const CallContext& call, Done done) override {
    node_->List(request, response, call, std::move(done));
  }
  void Commit(const kvstore::v1::CommitRequest& request, kvstore::v1::CommitResponse* response,
              const CallContext& call, Done done) override {
    node_->Commit(request, response, call, std::move(done));
  }
  void Fetch(const kvstore::v1::FetchRequest& request, kvstore::v1::FetchResponse* response,
             const CallContext& call, Done done) override {
    node_->Fetch(request, response, call, std::move(done));
  }
  bool TryGetShared(absl::string_view key, const kvstore::v1::ReadOptions& options,
                    const CallContext& call, SharedRead* out) override {
    return node_->TryGetShared(key, options, call, out);
  }
  bool TryBatchGetShared(absl::Span<const absl::string_view> keys,
                         const kvstore::v1::ReadOptions& options, const CallContext& call,
                         SharedBatchRead* out) override {
    return node_->TryBatchGetShared(keys, options, call, out);
  }
  void PrefetchReads(absl::Span<const absl::string_view> keys) override {
    node_->PrefetchReads(keys);
  }
  void GetStatus(kvstore::v1::StatusResponse* status) override { node_->GetStatus(status); }
  bool Ready(std::string* why_not) override { return node_->Ready(why_not); }

 protected:
  Node* const node_;
};

}  // namespace kv::server
