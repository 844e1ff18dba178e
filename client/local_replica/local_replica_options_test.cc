// LocalReplica::Create refuses options it cannot honour, naming the field, before it starts.

#include <gtest/gtest.h>

#include "kv/local_replica.h"

namespace kv::client {
namespace {

absl::Status CreateWith(void (*change)(LocalReplicaOptions*)) {
  LocalReplicaOptions options;
  options.upstream = "127.0.0.1:1";  // never reached: these fail before connecting
  change(&options);
  auto r = LocalReplica::Create(options);
  return r.status();
}

TEST(LocalReplicaOptionsTest, BadOptionsAreRefusedNamingTheField) {
  struct Case {
    void (*change)(LocalReplicaOptions*);
    const char* field;
  };
  const Case cases[] = {
      {[](LocalReplicaOptions* o) { o->upstream = ""; }, "upstream"},
      {[](LocalReplicaOptions* o) { o->max_message_bytes = 1 << 20; }, "max_message_bytes"},
      {[](LocalReplicaOptions* o) { o->max_staleness = absl::ZeroDuration(); }, "max_staleness"},
      {[](LocalReplicaOptions* o) { o->timeout = -absl::Seconds(1); }, "timeout"},
      {[](LocalReplicaOptions* o) { o->ping_interval = absl::ZeroDuration(); }, "ping_interval"},
      {[](LocalReplicaOptions* o) {
         o->mode = ReplicaMode::kCache;
         o->cache_bytes = 1000;
       },
       "cache_bytes"},
      {[](LocalReplicaOptions* o) { o->tls.ca_file = "/nonexistent/ca.pem"; }, "tls"},
  };
  for (const Case& c : cases) {
    absl::Status s = CreateWith(c.change);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field << ": " << s;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << s;
  }
  EXPECT_TRUE(CreateWith([](LocalReplicaOptions*) {}).ok()) << "the defaults are valid";
}

}  // namespace
}  // namespace kv::client
