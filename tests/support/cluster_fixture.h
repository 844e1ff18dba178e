#pragma once
// A gtest fixture that owns a cluster of real kvd processes on loopback (a central node and its
// edges) and prints their logs when a test fails.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/support/kvd_process.h"
#include "tests/support/temp_dir.h"

namespace kv::testing {

class ClusterFixture : public ::testing::Test {
 protected:
  // Starts the central node (data under the fixture's directory) with `extra` flags.
  KvdProcess* StartCentral(std::vector<std::string> extra = {});
  // Starts an edge named `name` in `mode` ("full" or "cache") following `upstream`.
  KvdProcess* StartEdge(const std::string& name, const std::string& upstream,
                        const std::string& mode = "full", std::vector<std::string> extra = {});
  // Until it has synced an edge forwards every read; tests that want local answers wait.
  bool WaitReady(KvdProcess* node, absl::Duration timeout = absl::Seconds(30));
  // Waits until `node` has applied (or, the central node, committed) at least `version`.
  bool WaitApplied(KvdProcess* node, uint64_t version, absl::Duration timeout = absl::Seconds(30));
  void TearDown() override;

  TempDir dir_;
  std::unique_ptr<KvdProcess> central_;
  std::vector<std::unique_ptr<KvdProcess>> edges_;
};

// A loopback address nothing listens on (a port bound, then released).
std::string DeadAddress();

}  // namespace kv::testing
