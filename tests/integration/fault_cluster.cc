#include "tests/integration/fault_cluster.h"

#include <fcntl.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/checker/hash.h"

namespace kv::testing {

FaultEnv FaultEnvFromEnvironment() {
  FaultEnv env;
  if (const char* s = getenv("KV_FAULT_SEED"); s != nullptr && *s != '\0') {
    uint64_t seed = 0;
    if (absl::SimpleAtoi(s, &seed)) env.seed = seed;
  }
  if (const char* s = getenv("KV_FAULT_SECONDS"); s != nullptr && *s != '\0') {
    double seconds = 0;
    if (absl::SimpleAtod(s, &seconds) && seconds > 0) env.duration = absl::Seconds(seconds);
  }
  if (const char* s = getenv("KV_FAULT_KEEP"); s != nullptr) {
    env.keep_artifacts = std::string(s) == "1";
  }
  const char* artifacts = getenv("KV_FAULT_ARTIFACTS");
  const char* tmp = getenv("TMPDIR");
  env.artifacts_dir = artifacts != nullptr && *artifacts != '\0' ? artifacts
                      : tmp != nullptr && *tmp != '\0'           ? tmp
                                                                 : "/tmp";
  return env;
}

void MarkDescriptorsCloseOnExec() {
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    int fd = -1;
    if (!absl::SimpleAtoi(it->path().filename().string(), &fd) || fd <= 2) continue;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

FaultCluster::~FaultCluster() {
  // Processes first, so no edge sees its link close before it dies.
  for (auto& n : nodes_) n->process->Kill();
  for (auto& n : nodes_) {
    if (n->link) n->link->Stop();
  }
}

absl::Status FaultCluster::StartCentral(std::vector<std::string> extra) {
  std::vector<std::string> args = {"central",
                                   "--data-dir",
                                   dir_.Sub("central"),
                                   "--node-id",
                                   "central",
                                   "--expiry-sweep-interval",
                                   "200ms",
                                   "--push-value-limit",
                                   kPushValueLimit};
  args.insert(args.end(), extra.begin(), extra.end());
  auto n = std::make_unique<ClusterNode>();
  n->name = "central";
  n->mode = "central";
  n->process = std::make_unique<KvdProcess>("central", args, dir_.path());
  nodes_.push_back(std::move(n));
  return Start(*nodes_.back());
}

absl::Status FaultCluster::StartEdge(const std::string& name, const std::string& upstream,
                                     const std::string& mode, std::vector<std::string> extra) {
  ClusterNode& up = node(upstream);
  FaultProxyOptions proxy_options;
  proxy_options.target_address = up.address();
  proxy_options.seed = checker::Mix64(seed_ ^ checker::HashValue(name));
  auto n = std::make_unique<ClusterNode>();
  n->name = name;
  n->mode = mode;
  n->upstream = upstream;
  n->link = std::make_unique<FaultProxy>(proxy_options);
  if (absl::Status s = n->link->Start(); !s.ok()) return s;
  std::vector<std::string> args = {"edge",
                                   "--mode",
                                   mode,
                                   "--upstream",
                                   n->link->listen_address(),
                                   "--data-dir",
                                   dir_.Sub(name),
                                   "--node-id",
                                   name,
                                   "--max-staleness",
                                   absl::StrCat(absl::ToInt64Milliseconds(kEdgeMaxStaleness), "ms"),
                                   "--upstream-timeout",
                                   "1s"};
  if (mode == "full") {
    args.push_back("--push-value-limit");
    args.push_back(kPushValueLimit);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  n->process = std::make_unique<KvdProcess>(name, args, dir_.path());
  nodes_.push_back(std::move(n));
  return Start(*nodes_.back());
}

absl::Status FaultCluster::Start(ClusterNode& node) {
  MarkDescriptorsCloseOnExec();
  return node.process->Start();
}

absl::Status FaultCluster::WaitAllReady(absl::Duration timeout) {
  for (ClusterNode* e : edges()) {
    if (!e->process->running()) continue;
    bool ready = WaitFor(
        [&] {
          auto s = e->process->Status();
          return s.ok() && s->ready();
        },
        timeout);
    if (!ready) return absl::DeadlineExceededError(absl::StrCat(e->name, " did not get ready"));
  }
  return absl::OkStatus();
}

ClusterNode& FaultCluster::node(const std::string& name) {
  for (auto& n : nodes_) {
    if (n->name == name) return *n;
  }
  std::cerr << "no node named " << name << "\n";
  abort();
}

std::vector<ClusterNode*> FaultCluster::nodes() {
  std::vector<ClusterNode*> out;
  for (auto& n : nodes_) out.push_back(n.get());
  return out;
}

std::vector<ClusterNode*> FaultCluster::edges() {
  std::vector<ClusterNode*> out;
  for (auto& n : nodes_) {
    if (!n->central()) out.push_back(n.get());
  }
  return out;
}

absl::Status FaultCluster::HealAll() {
  // nodes_ is in start order, so an upstream comes back before the edges below it.
  for (auto& n : nodes_) {
    if (n->link) n->link->ClearFaults();
    if (!n->process->running()) {
      if (absl::Status s = Start(*n); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

void FaultCluster::SaveLogs(const std::string& dir) const {
  std::error_code ignored;
  for (const auto& n : nodes_) {
    std::filesystem::copy_file(n->process->log_path(), dir + "/" + n->name + ".log",
                               std::filesystem::copy_options::overwrite_existing, ignored);
  }
}

void FaultCluster::PrintLogTails(size_t lines) const {
  for (const auto& n : nodes_) {
    std::vector<std::string> all = absl::StrSplit(n->process->ReadLog(), '\n');
    size_t from = all.size() > lines ? all.size() - lines : 0;
    std::cerr << "---- " << n->name << " (last " << lines << " lines) ----\n";
    for (size_t i = from; i < all.size(); ++i) std::cerr << all[i] << "\n";
  }
}

}  // namespace kv::testing
