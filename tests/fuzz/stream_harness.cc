#include "tests/fuzz/stream_harness.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "tests/fuzz/fuzz_check.h"

namespace kv::fuzz {
namespace {

using kvstore::v1::Change;

// Reopen the store after this many resets (each leaves a range tombstone in the log).
constexpr uint64_t kResetsPerStore = 1000;

std::string MakeRoot() {
  // tmpfs when there is one: the store is rewritten for every input.
  std::string base = "/tmp";
  if (const char* t = getenv("KV_FUZZ_TMPDIR"); t != nullptr) {
    base = t;
  } else if (access("/dev/shm", W_OK) == 0) {
    base = "/dev/shm";
  }
  std::string pattern = base + "/kvfuzz-XXXXXX";
  char* made = mkdtemp(pattern.data());
  KV_FUZZ_CHECK(made != nullptr) << "cannot create a directory under " << base;
  return made;
}

}  // namespace

kvstore::v1::SnapshotChunk SeedSnapshot() {
  kvstore::v1::SnapshotChunk chunk;
  chunk.set_version(kSeedVersion);
  chunk.set_cluster_id(kSeedCluster);
  chunk.set_last(true);
  auto add = [&chunk](const char* key, const char* value, uint64_t version, int64_t expiration) {
    kvstore::v1::Entry* e = chunk.add_entries();
    e->set_key(key);
    e->set_value(value);
    e->set_version(version);
    e->set_expiration(expiration);
  };
  add("a", "alpha", 90, 0);
  add("b", "bravo", 95, 2'000'000'000);
  add("c/1", "charlie", 99, 0);
  chunk.mutable_entries(0)->set_metadata("meta");
  kvstore::v1::Entry* missing = chunk.add_missing_values();
  missing->set_key("big");
  missing->set_version(97);
  chunk.set_total_keys(4);
  return chunk;
}

StreamHarness& StreamHarness::Get() {
  static StreamHarness* harness = new StreamHarness();
  return *harness;
}

StreamHarness::StreamHarness() : root_(MakeRoot()) {
  Open();
  Restore(SeedSnapshot(), {});
  // Closes RocksDB and removes the directory at exit (the harness itself stays reachable).
  atexit([] { delete &Get(); });
}

StreamHarness::~StreamHarness() {
  Close();
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

void StreamHarness::Open() {
  std::string path = absl::StrCat(root_, "/store-", opened_++);
  server::StoreOptions options;
  options.path = path;
  options.sync = false;               // as at an edge
  options.index_expirations = false;  // as at an edge
  options.block_cache_bytes = 8 << 20;
  auto store = server::VersionedStore::Open(options);
  KV_FUZZ_CHECK(store.ok()) << store.status();
  store_ = std::move(*store);
  replication::PublisherOptions publisher_options;
  publisher_options.node_id = "fuzz-edge";
  publisher_options.tail_changes = 1000;
  publisher_options.tail_bytes = 4 << 20;
  publisher_ = std::make_unique<replication::Publisher>(
      &store_->log(), &clock_, publisher_options, store_->cluster_id(), store_->head_version(),
      [] { return int64_t{0}; });
  edge_ = std::make_unique<server::FullEdgeApplier>(store_.get(), publisher_.get(), nullptr);
}

void StreamHarness::Close() {
  std::string path = store_ != nullptr ? absl::StrCat(root_, "/store-", opened_ - 1) : "";
  edge_.reset();
  publisher_.reset();
  store_.reset();
  std::error_code ignored;
  if (!path.empty()) std::filesystem::remove_all(path, ignored);
}

void StreamHarness::Reset(const std::vector<std::string>& keys) {
  static const kvstore::v1::SnapshotChunk seed = SeedSnapshot();
  if (++resets_ % kResetsPerStore == 0) {
    Close();
    Open();
    return Restore(seed, {});
  }
  Restore(seed, keys);
}

void StreamHarness::Restore(const kvstore::v1::SnapshotChunk& chunk,
                            const std::vector<std::string>& keys) {
  std::vector<std::shared_ptr<const Change>> deletes;
  uint64_t version = store_->head_version();
  for (const std::string& key : keys) {
    auto c = std::make_shared<Change>();
    c->set_version(++version);
    c->set_kind(Change::KIND_DELETE);
    c->set_key(key);
    deletes.push_back(std::move(c));
  }
  absl::Status s = deletes.empty() ? absl::OkStatus() : edge_->Apply(deletes);
  if (s.ok()) s = edge_->ApplySnapshotChunk(chunk);
  if (s.ok()) s = edge_->FinishSnapshot(chunk.version(), chunk.cluster_id());
  KV_FUZZ_CHECK(s.ok()) << "restoring the store: " << s;
}

}  // namespace kv::fuzz
