#include "replication/cluster_change.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace kv::replication {

absl::Status CheckClusterChange(absl::string_view held, absl::string_view offered,
                                absl::string_view upstream, bool allowed) {
  if (held.empty() || offered.empty() || held == offered) return absl::OkStatus();
  if (allowed) {
    KV_LOG(WARN) << "upstream " << upstream << " serves cluster " << offered
                 << "; this node's data is from cluster " << held
                 << ": replacing it (--allow-cluster-change)";
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "cluster mismatch: this node holds data of cluster ", held, ", but its upstream ", upstream,
      " serves cluster ", offered,
      "; refusing to wipe it and resync (was --upstream pointed at another cluster's node?). "
      "Point --upstream at a node of cluster ",
      held, ", or restart with --allow-cluster-change to replace the local data with cluster ",
      offered));
}

}  // namespace kv::replication
