#include "tests/support/cluster_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>

#include "absl/strings/str_cat.h"

namespace kv::testing {

KvdProcess* ClusterFixture::StartCentral(std::vector<std::string> extra) {
  std::vector<std::string> args = {"central", "--data-dir", dir_.Sub("central"), "--node-id",
                                   "central"};
  args.insert(args.end(), extra.begin(), extra.end());
  central_ = std::make_unique<KvdProcess>("central", args, dir_.path());
  EXPECT_TRUE(central_->Start().ok()) << central_->ReadLog();
  return central_.get();
}

KvdProcess* ClusterFixture::StartEdge(const std::string& name, const std::string& upstream,
                                      const std::string& mode, std::vector<std::string> extra) {
  std::vector<std::string> args = {"edge",         "--mode",    mode,
                                   "--upstream",   upstream,    "--data-dir",
                                   dir_.Sub(name), "--node-id", name};
  args.insert(args.end(), extra.begin(), extra.end());
  edges_.push_back(std::make_unique<KvdProcess>(name, args, dir_.path()));
  KvdProcess* edge = edges_.back().get();
  EXPECT_TRUE(edge->Start().ok()) << edge->ReadLog();
  return edge;
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

std::string DeadAddress() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
}

}  // namespace kv::testing
