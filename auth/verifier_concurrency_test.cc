// Many threads verifying while another rotates the key set.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "auth/testing/verifier_fixture.h"
#include "auth/verifier.h"

namespace kv::auth {
namespace {

using testing::JwksOf;
using testing::kNow;

class ConcurrencyTest : public testing::VerifierFixture {};

TEST_F(ConcurrencyTest, VerifiersAndARotatorAgree) {
  VerifierOptions options = DefaultOptions();
  options.cache.capacity = 64;  // small: evictions happen too
  options.cache.shards = 4;
  Reset(options);

  // Valid tokens (several per key, some repeated for cache hits) and refused ones.
  std::vector<std::string> good;
  for (int i = 0; i < 40; ++i) {
    nlohmann::json c = GoodClaims();
    c["sub"] = "user-" + std::to_string(i);
    good.push_back(Good(*AllKeys()[i % 4], c));
  }
  std::vector<std::string> bad;
  nlohmann::json expired = GoodClaims();
  expired["exp"] = kNow - 100;
  bad.push_back(Good(*ec_, expired));
  bad.push_back(Good(*hs_) + "x");
  bad.push_back(testing::SigningInput(R"({"alg":"none"})", GoodClaims().dump()) + ".");

  const std::string jwks_a = JwksOf(AllKeys());
  const std::string jwks_b = JwksOf({hs_, ed_, ec_, rsa_});  // same keys, another order
  std::atomic<bool> stop{false};
  std::thread rotator([&] {
    for (int i = 0; !stop.load(); ++i) {
      ASSERT_TRUE(verifier_->SetKeySetJson(i % 2 == 0 ? jwks_a : jwks_b).ok());
      std::this_thread::yield();
    }
  });

  std::atomic<int> wrong{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 1500; ++i) {
        const std::string& token = good[(i * 7 + t * 13) % good.size()];
        absl::StatusOr<std::shared_ptr<const Principal>> p = verifier_->VerifyToken(token);
        if (!p.ok() || (*p)->subject.rfind("user-", 0) != 0) wrong.fetch_add(1);
        if (i % 10 == 0 && verifier_->VerifyToken(bad[i % bad.size()]).ok()) wrong.fetch_add(1);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  stop.store(true);
  rotator.join();
  EXPECT_EQ(wrong.load(), 0);
  TokenCacheStats s = verifier_->cache_stats();
  EXPECT_GT(s.hits, 0u);
  EXPECT_LE(s.size, 64u);
}

TEST_F(ConcurrencyTest, RotationOutIsSeenByEveryThread) {
  std::string token = Good(*ed_);
  std::vector<std::thread> warm;
  for (int t = 0; t < 4; ++t) {
    warm.emplace_back([&] {
      for (int i = 0; i < 200; ++i) ASSERT_TRUE(verifier_->VerifyToken(token).ok());
    });
  }
  for (std::thread& w : warm) w.join();
  ASSERT_TRUE(verifier_->SetKeySetJson(JwksOf({rsa_, ec_, hs_})).ok());
  std::vector<std::thread> after;
  std::atomic<int> accepted{0};
  for (int t = 0; t < 4; ++t) {
    after.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (verifier_->VerifyToken(token).ok()) accepted.fetch_add(1);
      }
    });
  }
  for (std::thread& a : after) a.join();
  EXPECT_EQ(accepted.load(), 0);
}

}  // namespace
}  // namespace kv::auth
