#include "tests/faultproxy/fault_proxy.h"

#include <algorithm>
#include <utility>

#include "tests/faultproxy/address.h"
#include "tests/faultproxy/proxy_core.h"

namespace kv::testing {

FaultProxy::FaultProxy(FaultProxyOptions options)
    : options_(std::move(options)), core_(std::make_unique<internal::ProxyCore>(options_)) {}

FaultProxy::~FaultProxy() { Stop(); }

absl::Status FaultProxy::Start() {
  if (started_) return absl::FailedPreconditionError("FaultProxy::Start called twice");
  started_ = true;
  absl::Status s = core_->Open();
  if (!s.ok()) return s;
  port_ = core_->bound_port();
  thread_ = std::thread([this] { core_->Run(); });
  running_ = true;
  return absl::OkStatus();
}

void FaultProxy::Stop() {
  if (!running_.exchange(false)) return;
  core_->Shutdown();
  thread_.join();
}

std::string FaultProxy::listen_address() const {
  absl::StatusOr<HostPort> hp = ParseHostPort(options_.listen_address);
  return FormatHostPort(hp.ok() ? hp->host : "127.0.0.1", port_);
}

void FaultProxy::SetDelay(Direction dir, absl::Duration delay, absl::Duration jitter) {
  core_->UpdateFaults([&](FaultSettings& f) {
    f[dir].delay = std::max(delay, absl::ZeroDuration());
    f[dir].jitter = std::max(jitter, absl::ZeroDuration());
  });
}

void FaultProxy::SetBandwidth(Direction dir, uint64_t bytes_per_second) {
  core_->UpdateFaults([&](FaultSettings& f) { f[dir].bytes_per_second = bytes_per_second; });
}

void FaultProxy::Pause() {
  core_->UpdateFaults([](FaultSettings& f) {
    for (Direction d : kBothDirections) f[d].paused = true;
  });
}

void FaultProxy::Pause(Direction dir) {
  core_->UpdateFaults([&](FaultSettings& f) { f[dir].paused = true; });
}

void FaultProxy::Resume() {
  core_->UpdateFaults([](FaultSettings& f) {
    for (Direction d : kBothDirections) f[d].paused = false;
  });
}

void FaultProxy::Resume(Direction dir) {
  core_->UpdateFaults([&](FaultSettings& f) { f[dir].paused = false; });
}

void FaultProxy::RefuseNew(bool refuse) {
  core_->UpdateFaults([&](FaultSettings& f) { f.refuse_new = refuse; });
}

void FaultProxy::SetFaults(const FaultSettings& faults) {
  core_->UpdateFaults([&](FaultSettings& f) { f = faults; });
}

FaultSettings FaultProxy::faults() const { return core_->faults(); }

int FaultProxy::CutAll() {
  if (!running_) return 0;
  return core_->CutAll();
}

FaultProxyStats FaultProxy::stats() const { return core_->stats(); }

}  // namespace kv::testing
