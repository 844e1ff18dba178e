#include "server/kvd/serve_role.h"

#include <memory>

#include "common/clock.h"
#include "replication/publisher.h"
#include "server/rpc/call_tracker.h"
#include "server/rpc/replication_service.h"

namespace kv::server {

absl::Status ServeRole(Node* node, ReplicationSource* source, const std::string& not_an_upstream,
                       const ServeOptions& options, Metrics* metrics, RoleHooks hooks) {
  CallTracker tracker(metrics);
  ReplicationServiceOptions replication_options;
  replication_options.chain = hooks.chain;
  replication_options.max_concurrent_snapshots = hooks.max_concurrent_snapshots;
  std::unique_ptr<ReplicationService> replication =
      source != nullptr
          ? std::make_unique<ReplicationService>(source, node, hooks.gate, Clock::Real(), &tracker,
                                                 replication_options)
          : std::make_unique<ReplicationService>(not_an_upstream, replication_options);
  ServeHooks serve;
  serve.tracker = &tracker;
  serve.metrics = metrics;
  serve.gate = hooks.gate;
  serve.key_sets = hooks.key_sets;
  serve.backups = hooks.backups;
  serve.watch_hub = hooks.watch_hub;
  serve.extra_services.push_back(replication.get());
  serve.on_serving = std::move(hooks.on_serving);
  // Downstream streams never end by themselves: end them before waiting for calls in flight.
  serve.before_shutdown = [source, step_down = hooks.step_down] {
    if (step_down) step_down();
    if (source != nullptr) source->publisher()->FinishAll();
  };
  serve.after_shutdown = hooks.stop;
  absl::Status served = Serve(node, options, std::move(serve));
  if (hooks.stop) hooks.stop();  // also when serving never started
  return served;
}

}  // namespace kv::server
