#include "tests/support/cluster_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "tests/support/loopback_port.h"

namespace kv::testing {

KvdProcess* ClusterFixture::StartCentral(std::vector<std::string> extra) {
  std::vector<std::string> args = {"central", "--data-dir", dir_.Sub("central"), "--node-id",
                                   "central"};
  args.insert(args.end(), extra.begin(), extra.end());
  if (pki_ != nullptr) {
    std::vector<std::string> tls =
        pki_->NodeFlags("central", tls_client_certs_, tls_reload_interval_);
    args.insert(args.end(), tls.begin(), tls.end());
  }
  central_ = std::make_unique<KvdProcess>("central", args, dir_.path());
  central_->set_client_security(ClientSecurity());
  EXPECT_TRUE(central_->Start().ok()) << central_->ReadLog();
  return central_.get();
}

KvdProcess* ClusterFixture::StartEdge(const std::string& name, const std::string& upstream,
                                      const std::string& mode, std::vector<std::string> extra) {
  std::vector<std::string> args = {"edge",         "--mode",    mode,
                                   "--upstream",   upstream,    "--data-dir",
                                   dir_.Sub(name), "--node-id", name};
  args.insert(args.end(), extra.begin(), extra.end());
  if (pki_ != nullptr) {
    std::vector<std::string> tls = pki_->NodeFlags(name, tls_client_certs_, tls_reload_interval_);
    args.insert(args.end(), tls.begin(), tls.end());
  }
  edges_.push_back(std::make_unique<KvdProcess>(name, args, dir_.path()));
  KvdProcess* edge = edges_.back().get();
  edge->set_client_security(ClientSecurity());
  EXPECT_TRUE(edge->Start().ok()) << edge->ReadLog();
  return edge;
}

TestPki* ClusterFixture::EnableTls(const std::string& client_certs,
                                   const std::string& reload_interval) {
  if (pki_ == nullptr) pki_ = std::make_unique<TestPki>(dir_.Sub("pki"));
  tls_client_certs_ = client_certs;
  tls_reload_interval_ = reload_interval;
  return pki_.get();
}

void ClusterFixture::UseToken(const std::string& bearer_token) {
  token_ = bearer_token;
  if (central_ != nullptr) central_->set_client_security(ClientSecurity());
  for (auto& edge : edges_) edge->set_client_security(ClientSecurity());
}

tls::ClientChannelSecurity ClusterFixture::ClientSecurity() const {
  if (pki_ != nullptr) return pki_->ClientSecurity(token_);
  auto plain = tls::ClientChannelSecurity::Make({}, token_);
  EXPECT_TRUE(plain.ok()) << plain.status();
  return plain.ok() ? *plain : tls::ClientChannelSecurity();
}

bool ClusterFixture::WaitReady(KvdProcess* node, absl::Duration timeout) {
  return WaitFor(
      [&] {
        auto s = node->Status();
        return s.ok() && s->ready();
      },
      timeout);
}

bool ClusterFixture::WaitApplied(KvdProcess* node, uint64_t version, absl::Duration timeout) {
  return WaitFor(
      [&] {
        auto s = node->Status();
        return s.ok() && s->head_version() >= version;
      },
      timeout);
}

void ClusterFixture::TearDown() {
  if (!HasFailure()) return;
  if (central_) std::cerr << "---- central ----\n" << central_->ReadLog();
  for (auto& e : edges_) std::cerr << "---- " << e->name() << " ----\n" << e->ReadLog();
}

std::string DeadAddress() { return FreeLoopbackAddress(); }

}  // namespace kv::testing
