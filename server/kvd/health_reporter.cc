#include "server/kvd/health_reporter.h"

#include "common/log.h"

namespace kv::server {

HealthReporter::HealthReporter(Node* node, grpc::Server* server, std::vector<std::string> services)
    : node_(node), health_(server->GetHealthCheckService()), services_(std::move(services)) {
  if (health_ == nullptr) {
    KV_LOG(WARN) << "gRPC health service unavailable (not enabled before the server was built)";
    return;
  }
  Refresh();
  task_ = std::make_unique<PeriodicTask>("health", absl::Seconds(1), [this] { Refresh(); });
}

HealthReporter::~HealthReporter() { Stop(); }

void HealthReporter::Refresh() {
  std::string why_not;
  const bool ready = node_->Ready(&why_not);
  if (static_cast<int>(ready) == last_) return;
  last_ = ready ? 1 : 0;
  health_->SetServingStatus(ready);  // "" and every registered service name
  for (const std::string& service : services_) health_->SetServingStatus(service, ready);
}

void HealthReporter::Stop() {
  if (task_ != nullptr) task_->Stop();
  task_.reset();
  if (health_ != nullptr) health_->Shutdown();  // NOT_SERVING, and frozen
}

}  // namespace kv::server
