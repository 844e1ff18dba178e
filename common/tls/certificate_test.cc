#include "common/tls/certificate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "tests/support/test_ca.h"

namespace kv::tls {
namespace {

using ::kv::testing::CertOptions;
using ::kv::testing::KeyCert;
using ::kv::testing::TestCa;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CertificateTest, AValidPairIsAcceptedAndDescribed) {
  TestCa ca = TestCa::Create();
  CertOptions options;
  options.common_name = "edge-a";
  options.serial = 0xABCDEF;
  KeyCert node = ca.Issue(options);
  absl::StatusOr<Identity> identity = CheckIdentity(node.cert_pem, node.key_pem, absl::Now());
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_THAT(identity->leaf.subject, HasSubstr("CN=edge-a"));
  EXPECT_THAT(identity->leaf.issuer, HasSubstr("CN=kv test CA"));
  EXPECT_EQ(identity->leaf.serial_hex, "ABCDEF");
  EXPECT_THAT(identity->leaf.names, ElementsAre("localhost", "127.0.0.1", "::1"));
  EXPECT_LT(absl::AbsDuration(identity->leaf.not_after - (absl::Now() + absl::Hours(24))),
            absl::Minutes(1));
  EXPECT_EQ(identity->cert_chain_pem, node.cert_pem);
}

TEST(CertificateTest, AKeyOfAnotherCertificateIsRefused) {
  TestCa ca = TestCa::Create();
  KeyCert node = ca.Issue({});
  auto identity = CheckIdentity(node.cert_pem, kv::testing::NewPrivateKeyPem(), absl::Now());
  ASSERT_FALSE(identity.ok());
  EXPECT_THAT(identity.status().message(), HasSubstr("does not belong to the certificate"));
}

TEST(CertificateTest, ExpiredAndNotYetValidCertificatesAreRefused) {
  TestCa ca = TestCa::Create();
  CertOptions expired;
  expired.not_before = -absl::Hours(48);
  expired.not_after = -absl::Hours(1);
  KeyCert old = ca.Issue(expired);
  auto identity = CheckIdentity(old.cert_pem, old.key_pem, absl::Now());
  ASSERT_FALSE(identity.ok());
  EXPECT_THAT(identity.status().message(), HasSubstr("expired at"));

  CertOptions future;
  future.not_before = absl::Hours(1);
  future.not_after = absl::Hours(48);
  KeyCert early = ca.Issue(future);
  identity = CheckIdentity(early.cert_pem, early.key_pem, absl::Now());
  ASSERT_FALSE(identity.ok());
  EXPECT_THAT(identity.status().message(), HasSubstr("not valid before"));
}

TEST(CertificateTest, GarbageIsRefusedWithAReason) {
  TestCa ca = TestCa::Create();
  KeyCert node = ca.Issue({});
  EXPECT_THAT(CheckIdentity("", node.key_pem, absl::Now()).status().message(),
              HasSubstr("no PEM certificate"));
  EXPECT_THAT(CheckIdentity(node.cert_pem, "not a key", absl::Now()).status().message(),
              HasSubstr("private key does not parse"));
  const std::string broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  EXPECT_FALSE(CheckIdentity(broken, node.key_pem, absl::Now()).ok());
  // A chain whose second certificate is broken is refused too.
  EXPECT_FALSE(CheckIdentity(node.cert_pem + broken, node.key_pem, absl::Now()).ok());
}

TEST(CertificateTest, CaBundles) {
  TestCa a = TestCa::Create("a");
  TestCa b = TestCa::Create("b");
  EXPECT_EQ(CheckCaBundle(a.cert_pem()).value_or(-1), 1);
  EXPECT_EQ(CheckCaBundle(a.cert_pem() + b.cert_pem()).value_or(-1), 2);
  EXPECT_FALSE(CheckCaBundle("").ok());
  EXPECT_FALSE(
      CheckCaBundle("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
  auto info = InspectCertificate(b.cert_pem());
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(info->subject, HasSubstr("CN=b"));
}

TEST(CertificateTest, ReadPemFileNamesTheFile) {
  auto missing = ReadPemFile("/nonexistent/kv/cert.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/kv/cert.pem"));
}

}  // namespace
}  // namespace kv::tls
