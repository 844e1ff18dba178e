#pragma once
// What a central node with standbys answers (docs/ha.md): the leader answers as a central node
// alone does; a standby answers reads from its store (which holds committed versions only)
// within the staleness bound like a full edge, sends strong reads, reads beyond its bound and
// every write to the leader with the caller's credentials (the leader checks them again), and
// tells Admin calls that change the cluster where the leader is. Status gains the role, the
// epoch, the leader and the in-sync standbys.
//
// Threading: as the CentralNode. Ownership: the node and the controller outlive this.

#include <string>

#include "absl/time/time.h"
#include "server/central/central_node.h"
#include "server/edge/read_route.h"
#include "server/ha/ha_controller.h"
#include "server/node/forwarding_node.h"
#include "server/node/key_set_admin.h"

namespace kv::server {

class HaNode final : public ForwardingNode, public KeySetAdmin {
 public:
  // `max_staleness`: the bound of a standby's reads that name none.
  HaNode(CentralNode* central, HaController* ha, absl::Duration max_staleness)
      : ForwardingNode(central), central_(central), ha_(ha), max_staleness_(max_staleness) {}

  void Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
           const CallContext& call, Done done) override;
  void BatchGet(const kvstore::v1::BatchGetRequest& request,
                kvstore::v1::BatchGetResponse* response, const CallContext& call,
                Done done) override;
  void List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
            const CallContext& call, Done done) override;
  // A downstream's fetch of one key, answered from this node's store (min_version still holds)
  // with this node's staleness: a standby is not as fresh as a leader.
  void Fetch(const kvstore::v1::FetchRequest& request, kvstore::v1::FetchResponse* response,
             const CallContext& call, Done done) override;
  void Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
           const CallContext& call, Done done) override;
  void Delete(const kvstore::v1::DeleteRequest& request, kvstore::v1::DeleteResponse* response,
              const CallContext& call, Done done) override;
  void Commit(const kvstore::v1::CommitRequest& request, kvstore::v1::CommitResponse* response,
              const CallContext& call, Done done) override;
  // No shared answers here: a standby's reads are routed and labelled by Read above, which the
  // pass-through of ForwardingNode would skip.
  bool TryGetShared(absl::string_view, const kvstore::v1::ReadOptions&, const CallContext&,
                    SharedRead*) override {
    return false;
  }
  bool TryBatchGetShared(absl::Span<const absl::string_view>, const kvstore::v1::ReadOptions&,
                         const CallContext&, SharedBatchRead*) override {
    return false;
  }
  void GetStatus(kvstore::v1::StatusResponse* status) override;
  // KeySetAdmin: the leader's.
  void SetKeySet(const kvstore::v1::SetKeySetRequest& request,
                 kvstore::v1::SetKeySetResponse* response, const CallContext& call,
                 Done done) override;

 private:
  // A read at this node: answered here (`local`), or by the leader (`upstream`), by the rules of
  // read_route.h with this node's staleness.
  template <typename Request, typename Response, typename Local, typename Upstream>
  void Read(const Request& request, Response* response, const CallContext& call, Done done,
            Local local, Upstream upstream);
  // A write: into this node's pipeline when it leads, else forwarded to the leader.
  template <typename Forward>
  void Write(Done done, Forward forward);

  CentralNode* const central_;
  HaController* const ha_;
  const absl::Duration max_staleness_;
};

}  // namespace kv::server
