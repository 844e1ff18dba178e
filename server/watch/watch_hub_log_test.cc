// WatchHub with a real change log: a watcher behind the ring catches up from the log.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "server/storage/versioned_store.h"
#include "server/watch/watch_hub.h"
#include "server/watch/watch_test_sink.h"
#include "tests/support/temp_dir.h"

namespace kv::server {
namespace {

using kvstore::v1::Change;

class WatchHubLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.path = dir_.path();
    options.sync = false;
    store_ = std::move(*VersionedStore::Open(options));
  }
  void TearDown() override {
    if (hub_) {
      hub_->FinishAll();
      hub_->Stop();
    }
  }
  // Versions head+1..head+n, each a put of its own key, to the store (and so its log).
  std::vector<std::shared_ptr<const Change>> Write(int n) {
    std::vector<std::shared_ptr<const Change>> changes;
    std::vector<const Change*> pointers;
    for (int i = 0; i < n; ++i) {
      auto c = std::make_shared<Change>();
      c->set_version(store_->head_version() + i + 1);
      c->set_kind(Change::KIND_PUT);
      c->set_key("k" + std::to_string(c->version()));
      c->set_value("v");
      pointers.push_back(c.get());
      changes.push_back(std::move(c));
    }
    EXPECT_TRUE(store_->Apply(pointers).ok());
    return changes;
  }

  kv::testing::TempDir dir_;
  std::unique_ptr<VersionedStore> store_;
  std::unique_ptr<testing::RecordingSink> sink_;  // destroyed after hub_
  std::unique_ptr<WatchHub> hub_;
};

TEST_F(WatchHubLogTest, ACatchUpLongerThanOneMessageArrivesWholeInOrder) {
  Write(450);  // only in the log: the hub starts after them
  WatchHubOptions options;
  options.node_id = "n1";
  options.ring_changes = 10;
  options.max_message_events = 100;
  hub_ = std::make_unique<WatchHub>(Clock::Real(), options, &store_->log(), nullptr);
  hub_->Start(store_->head_version());
  hub_->Append(Write(20));  // the ring keeps 461..470
  sink_ = std::make_unique<testing::RecordingSink>(hub_.get());
  kvstore::v1::WatchRequest request;
  request.set_start_version(1);
  ASSERT_FALSE(hub_->Add(sink_.get(), request, *hub_->MakeFilter(request, true)));
  ASSERT_TRUE(sink_->WaitForEvents(470));
  std::vector<kvstore::v1::WatchEvent> events = sink_->events();
  ASSERT_EQ(events.size(), 470u);
  for (size_t i = 0; i < events.size(); ++i) ASSERT_EQ(events[i].version(), i + 1);
  for (const auto& m : sink_->messages()) EXPECT_LE(m.events_size(), 100);
}

}  // namespace
}  // namespace kv::server
