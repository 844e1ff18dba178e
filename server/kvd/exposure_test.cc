#include "server/kvd/exposure.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kv::server {
namespace {

using ::testing::HasSubstr;

TEST(ExposureTest, LoopbackHosts) {
  for (const char* host :
       {"127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"", "0.0.0.0", "::", "[::]", "10.0.0.1", "128.0.0.1", "192.168.1.7",
                           "fe80::1", "example.com", "localhost.example.com", "::ffff:10.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(ExposureTest, HostOfListen) {
  EXPECT_EQ(HostOfListen("127.0.0.1:7000"), "127.0.0.1");
  EXPECT_EQ(HostOfListen("[::1]:7000"), "[::1]");
  EXPECT_EQ(HostOfListen(":7000"), "");
  EXPECT_EQ(HostOfListen("localhost:0"), "localhost");
  EXPECT_EQ(HostOfListen("::1"), "::1");
}

ExposureFacts Facts(const std::string& grpc, const std::string& http) {
  ExposureFacts facts;
  facts.listeners = {{"--listen", grpc}, {"--http", http}};
  return facts;
}

TEST(ExposureTest, LoopbackOnlyIsAlwaysAllowed) {
  EXPECT_TRUE(CheckExposure(Facts("127.0.0.1:7000", "")).ok());
  EXPECT_TRUE(CheckExposure(Facts("127.0.0.1:7000", "[::1]:8000")).ok());
  EXPECT_TRUE(CheckExposure(Facts("localhost:0", "127.0.0.1:0")).ok());
  EXPECT_TRUE(CheckExposure(Facts("unix:/run/kv.sock", "")).ok());
}

TEST(ExposureTest, AnExposedListenerNeedsTlsOrAuthOrInsecure) {
  ExposureFacts facts = Facts("0.0.0.0:7000", "127.0.0.1:8000");
  absl::Status s = CheckExposure(facts);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("--listen 0.0.0.0:7000 is reachable from other hosts"));
  EXPECT_THAT(s.message(), HasSubstr("--insecure"));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr("--http")));

  s = CheckExposure(Facts("127.0.0.1:7000", ":8000"));
  EXPECT_THAT(s.message(), HasSubstr("--http :8000 is reachable"));
  s = CheckExposure(Facts("[::]:7000", "10.1.2.3:8000"));
  EXPECT_THAT(s.message(), HasSubstr("--listen [::]:7000 and --http 10.1.2.3:8000 are reachable"));

  ExposureFacts with_tls = facts;
  with_tls.tls = true;
  EXPECT_TRUE(CheckExposure(with_tls).ok());
  ExposureFacts with_auth = facts;
  with_auth.auth_required = true;
  EXPECT_TRUE(CheckExposure(with_auth).ok());
  ExposureFacts insecure = facts;
  insecure.insecure = true;
  EXPECT_TRUE(CheckExposure(insecure).ok());
}

}  // namespace
}  // namespace kv::server
