#include "common/tls/client_channel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"

namespace kv::tls {
namespace {

using ::kv::testing::TempDir;
using ::kv::testing::TestCa;
using ::kv::testing::WriteFileAtomically;
using ::testing::HasSubstr;

TEST(ClientChannelTest, PlainByDefault) {
  ClientChannelSecurity plain;
  EXPECT_FALSE(plain.tls());
  auto made = ClientChannelSecurity::Make({}, "token");
  ASSERT_TRUE(made.ok());
  EXPECT_FALSE(made->tls());
  ClientTlsFiles name_only;
  name_only.server_name = "central";
  EXPECT_FALSE(ClientChannelSecurity::Make(name_only).ok());
}

TEST(ClientChannelTest, FilesAreCheckedWhenMade) {
  TempDir dir;
  TestCa ca = TestCa::Create();
  kv::testing::KeyCert client = ca.Issue({});
  ASSERT_TRUE(WriteFileAtomically(dir.Sub("ca.pem"), ca.cert_pem()).ok());
  ASSERT_TRUE(WriteFileAtomically(dir.Sub("client.pem"), client.cert_pem).ok());
  ASSERT_TRUE(WriteFileAtomically(dir.Sub("client.key"), client.key_pem).ok());
  ASSERT_TRUE(WriteFileAtomically(dir.Sub("other.key"), kv::testing::NewPrivateKeyPem()).ok());

  ClientTlsFiles files;
  files.ca_file = dir.Sub("ca.pem");
  auto made = ClientChannelSecurity::Make(files);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(made->tls());

  files.cert_file = dir.Sub("client.pem");
  EXPECT_FALSE(ClientChannelSecurity::Make(files).ok());  // no key
  files.key_file = dir.Sub("other.key");
  auto mismatched = ClientChannelSecurity::Make(files);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_THAT(mismatched.status().message(), HasSubstr("does not belong"));
  files.key_file = dir.Sub("client.key");
  EXPECT_TRUE(ClientChannelSecurity::Make(files).ok());

  files.ca_file = dir.Sub("client.key");  // not a certificate
  EXPECT_FALSE(ClientChannelSecurity::Make(files).ok());
  files.ca_file = dir.Sub("missing.pem");
  auto missing = ClientChannelSecurity::Make(files);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("missing.pem"));
}

}  // namespace
}  // namespace kv::tls
