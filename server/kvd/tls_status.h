#pragma once
// A node's TLS state (tls::NodeTls) as operators see it: Admin.Status's `tls` field and the
// kv_tls_* series on /metrics:
//   kv_tls_cert_expiry_seconds            seconds until the certificate in use expires
//                                         (negative once expired)
//   kv_tls_cert_not_after_timestamp_seconds
//   kv_tls_last_reload_timestamp_seconds  when the material in use was loaded
//   kv_tls_reload_failing                 1 while the latest reload attempt was refused
//   kv_tls_reloads_total, kv_tls_reload_failures_total
// Series about the certificate appear only on a node that serves TLS.

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/tls/node_tls.h"
#include "kvstore/v1/admin.pb.h"
#include "server/metrics/metrics.h"
#include "server/node/forwarding_node.h"

namespace kv::server {

void FillTlsStatus(const tls::TlsState& state, kvstore::v1::TlsStatus* out);
void ExportTlsStatus(const kvstore::v1::TlsStatus& status, absl::Time now, MetricSink& sink);
// Exports `tls`'s state on every scrape; returns the collector id. `tls` must outlive it.
int AddTlsCollector(Metrics& metrics, const tls::NodeTls* tls);

// The node as the Admin service sees it: GetStatus also reports `tls`. Everything else goes
// straight to `node`. Threading and ownership: as `node`; both must outlive this.
class TlsStatusNode final : public ForwardingNode {
 public:
  TlsStatusNode(Node* node, const tls::NodeTls* tls) : ForwardingNode(node), tls_(tls) {}

  void GetStatus(kvstore::v1::StatusResponse* status) override {
    node_->GetStatus(status);
    FillTlsStatus(tls_->State(), status->mutable_tls());
  }

 private:
  const tls::NodeTls* const tls_;
};

}  // namespace kv::server
