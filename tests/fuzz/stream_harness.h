#pragma once
// The real side of fuzz_stream_receiver: a FullEdgeApplier over a VersionedStore (RocksDB) in a
// temporary directory, with the Publisher a full edge relays through. Opening RocksDB costs
// hundreds of milliseconds under ASan, so one store serves many inputs and Reset() puts it back
// to the seed state before each.
//
// Neither Reset nor Restore calls BeginSnapshot: BeginSnapshotInstall deletes with range
// tombstones whose end key is 64 KiB long, and every later iterator seek of the store copies
// each of them (under ASan, with an mmap per copy): even one made the fuzzer 20x slower. They
// delete the keys the store holds as ordinary changes instead, write the snapshot's records
// (ApplySnapshotChunk) and finish the install (FinishSnapshot), which resets the head, the
// cluster id and the log. The store is reopened from scratch every kResetsPerStore inputs.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "kvstore/v1/replication.pb.h"
#include "replication/publisher.h"
#include "server/edge/full_edge_applier.h"
#include "server/storage/versioned_store.h"

namespace kv::fuzz {

// The state every input starts from: a full edge bootstrapped at this version of this cluster.
inline constexpr uint64_t kSeedVersion = 100;
inline constexpr char kSeedCluster[] = "fuzz-cluster";
// A few keys, one of them with its value still missing (announced by invalidation).
kvstore::v1::SnapshotChunk SeedSnapshot();

class StreamHarness {
 public:
  // The process-wide harness, created on first use. Aborts when the store cannot be opened.
  static StreamHarness& Get();
  ~StreamHarness();

  // Back to the seed state. `keys` must hold every key the store holds (the model's keys
  // after the previous input).
  void Reset(const std::vector<std::string>& keys);
  // Replaces the content with `chunk` (a whole snapshot) as described above.
  void Restore(const kvstore::v1::SnapshotChunk& chunk, const std::vector<std::string>& keys);

  server::VersionedStore* store() { return store_.get(); }
  server::FullEdgeApplier* applier() { return edge_.get(); }
  replication::Publisher* publisher() { return publisher_.get(); }

 private:
  StreamHarness();
  void Open();
  void Close();

  std::string root_;
  uint64_t opened_ = 0;
  uint64_t resets_ = 0;
  ManualClock clock_;
  std::unique_ptr<server::VersionedStore> store_;
  std::unique_ptr<replication::Publisher> publisher_;
  std::unique_ptr<server::FullEdgeApplier> edge_;
};

}  // namespace kv::fuzz
