#include "client/endpoints.h"

#include <gtest/gtest.h>

namespace kv::client {
namespace {

std::vector<std::string> Names(const std::vector<Endpoint*>& order) {
  std::vector<std::string> out;
  for (Endpoint* e : order) out.push_back(e->address);
  return out;
}

TEST(EndpointSetTest, FailedEndpointIsSkippedForTheCooldownOnly) {
  ManualClock clock;
  EndpointSet set({"a:1", "b:1", "c:1"}, 32 << 20, absl::Seconds(2), &clock);
  using V = std::vector<std::string>;
  EXPECT_EQ(Names(set.Order()), (V{"a:1", "b:1", "c:1"}));

  set.MarkFailed(set.Find("a:1"));
  EXPECT_TRUE(set.IsCoolingDown(set.Find("a:1")));
  // Cooling endpoints are kept as a last resort, after the healthy ones.
  EXPECT_EQ(Names(set.Order()), (V{"b:1", "c:1", "a:1"}));

  clock.AdvanceMicros(1'000'000);
  set.MarkFailed(set.Find("b:1"));
  EXPECT_EQ(Names(set.Order()), (V{"c:1", "a:1", "b:1"}));

  clock.AdvanceMicros(1'000'001);  // a's cool-down is over, b's is not
  EXPECT_FALSE(set.IsCoolingDown(set.Find("a:1")));
  EXPECT_EQ(Names(set.Order()), (V{"a:1", "c:1", "b:1"}));

  set.MarkHealthy(set.Find("b:1"));
  EXPECT_EQ(Names(set.Order()), (V{"a:1", "b:1", "c:1"}));
}

TEST(EndpointSetTest, AllCoolingAreOrderedBySoonestRecovery) {
  ManualClock clock;
  EndpointSet set({"a:1", "b:1"}, 32 << 20, absl::Seconds(2), &clock);
  set.MarkFailed(set.Find("b:1"));
  clock.AdvanceMicros(10);
  set.MarkFailed(set.Find("a:1"));
  EXPECT_EQ(Names(set.Order()), (std::vector<std::string>{"b:1", "a:1"}));
  EXPECT_EQ(set.Find("x:1"), nullptr);
}

}  // namespace
}  // namespace kv::client
