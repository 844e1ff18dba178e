#include "server/watch/watch_filter.h"

#include <gtest/gtest.h>

namespace kv::server {
namespace {

TEST(WatchFilterTest, RefusesMalformedRequests) {
  kvstore::v1::WatchRequest both;
  both.set_prefix("a");
  both.add_keys("b");
  EXPECT_EQ(WatchFilter::Make(both, 512, false, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  kvstore::v1::WatchRequest many;
  for (int i = 0; i <= kMaxWatchKeys; ++i) many.add_keys("k" + std::to_string(i));
  EXPECT_EQ(WatchFilter::Make(many, 512, false, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  kvstore::v1::WatchRequest empty_key;
  empty_key.add_keys("");
  EXPECT_FALSE(WatchFilter::Make(empty_key, 512, false, 1).ok());
  kvstore::v1::WatchRequest long_prefix;
  long_prefix.set_prefix(std::string(513, 'p'));
  EXPECT_FALSE(WatchFilter::Make(long_prefix, 512, false, 1).ok());
}

TEST(WatchFilterTest, AdminSeesReservedKeys) {
  kvstore::v1::WatchRequest all;
  auto admin = WatchFilter::Make(all, 512, /*hide_reserved=*/false, 1);
  auto user = WatchFilter::Make(all, 512, /*hide_reserved=*/true, 1);
  ASSERT_TRUE(admin.ok() && user.ok());
  EXPECT_TRUE(admin->Matches("__kv/auth/jwks"));
  EXPECT_FALSE(user->Matches("__kv/auth/jwks"));
  EXPECT_TRUE(user->Matches("x"));
}

TEST(WatchFilterTest, KeysAreEqualExactlyForFiltersThatActAlike) {
  auto key = [](const kvstore::v1::WatchRequest& r, bool hide_reserved = true,
                uint64_t max_value = 100) {
    return WatchFilter::Make(r, 512, hide_reserved, max_value)->key();
  };
  kvstore::v1::WatchRequest ab, ba, a_prefix, a_key, all;
  ab.add_keys("a");
  ab.add_keys("b");
  ba.add_keys("b");
  ba.add_keys("a");
  a_prefix.set_prefix("a");
  a_key.add_keys("a");
  EXPECT_EQ(key(ab), key(ba));  // the order of the keys does not matter
  EXPECT_NE(key(a_prefix), key(a_key));
  EXPECT_NE(key(all), key(all, /*hide_reserved=*/false));
  EXPECT_NE(key(all), key(all, true, 101));
  kvstore::v1::WatchRequest one_key, two_keys;  // a key's bytes cannot pass for two keys
  one_key.add_keys("k1:x");
  two_keys.add_keys("k1");
  two_keys.add_keys("x");
  EXPECT_NE(key(one_key), key(two_keys));
}

}  // namespace
}  // namespace kv::server
