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

}  // namespace
}  // namespace kv::server
