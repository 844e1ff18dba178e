#include "server/http/shared_body_pool.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace kv::server {
namespace {

TEST(SharedBodyPoolTest, SameKeyAndVersionShareOneValue) {
  SharedBodyPool pool;
  SharedBody a = pool.Intern("k", 7, std::string(1000, 'a'));
  SharedBody b = pool.Intern("k", 7, std::string(1000, 'a'));
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(pool.values(), 1u);
  EXPECT_EQ(pool.bytes(), 1000u);

  SharedBody other_version = pool.Intern("k", 8, std::string(10, 'b'));
  SharedBody other_key = pool.Intern("j", 7, std::string(20, 'c'));
  EXPECT_NE(other_version.get(), a.get());
  EXPECT_NE(other_key.get(), a.get());
  EXPECT_EQ(*other_version, std::string(10, 'b'));
  EXPECT_EQ(*other_key, std::string(20, 'c'));
  EXPECT_EQ(pool.values(), 3u);
  EXPECT_EQ(pool.bytes(), 1030u);
}

TEST(SharedBodyPoolTest, AValueIsFreedAndForgottenWithItsLastHolder) {
  SharedBodyPool pool;
  std::weak_ptr<const std::string> watch;
  {
    SharedBody a = pool.Intern("k", 1, std::string(100, 'a'));
    SharedBody b = pool.Intern("k", 1, std::string(100, 'a'));
    watch = a;
    a.reset();
    EXPECT_FALSE(watch.expired());  // b still holds it
    EXPECT_EQ(pool.values(), 1u);
  }
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(pool.values(), 0u);
  EXPECT_EQ(pool.bytes(), 0u);
  // A new read of the same version starts over with its own copy.
  SharedBody c = pool.Intern("k", 1, std::string(100, 'z'));
  EXPECT_EQ(*c, std::string(100, 'z'));
  EXPECT_EQ(pool.values(), 1u);
}

TEST(SharedBodyPoolTest, ValuesMayOutliveThePool) {
  SharedBody kept;
  {
    SharedBodyPool pool;
    kept = pool.Intern("k", 1, "value");
  }
  EXPECT_EQ(*kept, "value");
  kept.reset();  // the deleter still finds the pool's state
}

TEST(SharedBodyPoolTest, ConcurrentInternAndRelease) {
  SharedBodyPool pool;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 5000; ++i) {
        const uint64_t version = static_cast<uint64_t>(i % 3);
        SharedBody body =
            pool.Intern("hot", version, std::string(64, static_cast<char>('a' + version)));
        ASSERT_EQ(*body, std::string(64, static_cast<char>('a' + version))) << t;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(pool.values(), 0u);
  EXPECT_EQ(pool.bytes(), 0u);
}

}  // namespace
}  // namespace kv::server
