// What operators and their tools see, on real kvd processes: the standard gRPC health service
// (grpc.health.v1) following readiness, server reflection listing our services (what grpcurl
// uses), the --config file with flags that override it, and JSON log lines. Health and
// reflection are called through gRPC's generic stub with hand-encoded messages, so the test
// needs none of their generated code (Debian ships none).

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"
#include "tests/support/wait_for.h"

namespace kv::testing {
namespace {

// A protobuf string field (wire type 2) with a one-byte tag.
std::string StringField(int number, const std::string& value) {
  std::string out(1, static_cast<char>(number << 3 | 2));
  size_t n = value.size();
  do {
    out.push_back(static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
    n >>= 7;
  } while (n > 0);
  return out + value;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return "";
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// grpc.health.v1.Health/Check of `service`: 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN (as the
// status field's value), or -(gRPC code) when the call failed.
int HealthCheck(const std::string& address, const std::string& service) {
  grpc::GenericStub stub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::ByteBuffer response;
  grpc::Status status;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  const grpc::ByteBuffer request = ToBuffer(StringField(1, service));
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> l(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_all();
                 });
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return done; });
  if (!status.ok()) return -static_cast<int>(status.error_code());
  const std::string bytes = FromBuffer(response);
  // HealthCheckResponse { ServingStatus status = 1; }: 0x08 <value>, or empty for UNKNOWN (0).
  if (bytes.size() >= 2 && bytes[0] == 0x08) return bytes[1];
  return 0;
}

// The services server reflection lists (grpc.reflection.v1alpha, list_services).
std::string ReflectedServices(const std::string& address) {
  grpc::GenericStub stub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  if (!ok) return "";
  // ServerReflectionRequest { string list_services = 7; }
  call->Write(ToBuffer(StringField(7, "")), reinterpret_cast<void*>(2));
  cq.Next(&tag, &ok);
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  cq.Next(&tag, &ok);
  const std::string bytes = ok ? FromBuffer(response) : "";
  ctx.TryCancel();
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return bytes;
}

class OperationsTest : public ClusterFixture {};

TEST_F(OperationsTest, HealthFollowsReadinessAndReflectionListsTheServices) {
  KvdProcess* central = StartCentral({"--auth", "off"});
  ASSERT_NE(central, nullptr);
  for (const std::string service :
       {"", "kvstore.v1.KV", "kvstore.v1.Admin", "kvstore.v1.Replication"}) {
    EXPECT_TRUE(
        WaitFor([&] { return HealthCheck(central->address(), service) == 1; }, absl::Seconds(10)))
        << "service '" << service << "': " << HealthCheck(central->address(), service);
  }
  EXPECT_EQ(HealthCheck(central->address(), "no.such.Service"), -grpc::StatusCode::NOT_FOUND);

  // An edge whose upstream does not answer is not ready: NOT_SERVING.
  KvdProcess* lost = StartEdge("lost", DeadAddress(), "full");
  ASSERT_NE(lost, nullptr);
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(HealthCheck(lost->address(), ""), 2);
  // A ready edge: SERVING.
  KvdProcess* edge = StartEdge("edge", central->address(), "full");
  ASSERT_TRUE(WaitReady(edge));
  EXPECT_TRUE(WaitFor([&] { return HealthCheck(edge->address(), "") == 1; }, absl::Seconds(10)));

  const std::string listed = ReflectedServices(central->address());
  for (const char* service :
       {"kvstore.v1.KV", "kvstore.v1.Admin", "kvstore.v1.Replication", "grpc.health.v1.Health"}) {
    EXPECT_TRUE(absl::StrContains(listed, service)) << service << " not in: " << listed;
  }
}

TEST_F(OperationsTest, ConfigFileFlagsOverrideItAndJsonLogs) {
  const std::string config = dir_.path() + "/central.toml";
  std::ofstream(config) << "# a central node\n"
                        << "data-dir = \"" << dir_.Sub("from-file") << "\"\n"
                        << "node-id = \"from-file\"\n"
                        << "log-format = \"json\"\n"
                        << "max-value-bytes = \"1MiB\"\n";
  KvdProcess central("central", {"central", "--config", config, "--node-id", "from-flag"},
                     dir_.path());
  ASSERT_TRUE(central.Start().ok()) << central.ReadLog();
  auto status = central.Status();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->node_id(), "from-flag");  // the flag wins over the file
  // Every line of the log is one JSON object naming the node.
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(central.ReadLog(), '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "{")) continue;  // gRPC's own lines are not ours
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j["node"], "from-flag") << line;
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    ++lines;
  }
  EXPECT_GE(lines, 2) << central.ReadLog();
  central.Stop();

  // An unknown key is an error naming it; nothing starts.
  const std::string bad = dir_.path() + "/bad.toml";
  std::ofstream(bad) << "data-dir = \"" << dir_.Sub("bad") << "\"\nlisten-adress = \"x\"\n";
  KvdProcess refused("refused", {"central", "--config", bad}, dir_.path());
  EXPECT_FALSE(refused.Start(absl::Seconds(10)).ok());
  EXPECT_TRUE(absl::StrContains(refused.ReadLog(), "listen-adress")) << refused.ReadLog();
}

}  // namespace
}  // namespace kv::testing
