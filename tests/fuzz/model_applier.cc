#include "tests/fuzz/model_applier.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "replication/change_parts.h"
#include "tests/fuzz/fuzz_check.h"

namespace kv::fuzz {
namespace {

using kvstore::v1::Change;

constexpr int64_t kHidden = std::numeric_limits<int64_t>::min();

void AppendRecord(const std::string& key, uint64_t version, int64_t expiration,
                  const std::string& metadata, const std::string& value, std::string* out) {
  absl::StrAppend(out, key.size(), ":", key, " v", version, " e", expiration, " m", metadata.size(),
                  ":", metadata, " ", value.size(), ":", value, "\n");
}

}  // namespace

void ModelApplier::Reset(uint64_t version, std::string cluster_id,
                         std::map<std::string, Record> records) {
  applied_ = version;
  cluster_id_ = std::move(cluster_id);
  records_ = std::move(records);
}

absl::Status ModelApplier::Apply(const std::vector<std::shared_ptr<const Change>>& changes) {
  uint64_t expected = applied_ + 1;
  for (const auto& c : changes) {
    KV_FUZZ_CHECK(c->version() == expected)
        << "the receiver handed the applier version " << c->version() << " after " << expected - 1;
    replication::ForEachKeyChange(*c, [](const Change& kc, uint64_t) {
      KV_FUZZ_CHECK(!kc.key().empty()) << "the receiver handed the applier an empty key";
    });
    ++expected;
  }
  for (const auto& change : changes) {
    replication::ForEachKeyChange(*change, [this](const Change& c, uint64_t version) {
      if (c.kind() == Change::KIND_DELETE) {
        records_.erase(c.key());
        return;
      }
      Record& r = records_[c.key()];
      r.version = version;
      r.expiration = c.expiration();
      r.missing = c.kind() == Change::KIND_INVALIDATE;
      r.metadata = c.metadata();
      r.value = c.value();
    });
  }
  applied_ = expected - 1;
  return absl::OkStatus();
}

absl::Status ModelApplier::BeginSnapshot() {
  records_.clear();
  applied_ = 0;
  return absl::OkStatus();
}

absl::Status ModelApplier::ApplySnapshotChunk(const kvstore::v1::SnapshotChunk& chunk) {
  for (const auto* list : {&chunk.entries(), &chunk.missing_values()}) {
    for (const auto& e : *list) {
      Record& r = records_[e.key()];
      r.version = e.version();
      r.expiration = e.expiration();
      r.missing = list == &chunk.missing_values();
      r.metadata = e.metadata();
      r.value = e.value();
    }
  }
  return absl::OkStatus();
}

absl::Status ModelApplier::FinishSnapshot(uint64_t version, const std::string& cluster_id) {
  applied_ = version;
  cluster_id_ = cluster_id;
  return absl::OkStatus();
}

absl::Status ModelApplier::StartFrom(uint64_t version, const std::string& cluster_id) {
  records_.clear();
  applied_ = version;
  cluster_id_ = cluster_id;
  return absl::OkStatus();
}

std::string ModelApplier::Digest() const {
  std::string out, missing;
  for (const auto& [key, r] : records_) {
    if (r.missing) absl::StrAppend(&missing, key.size(), ":", key, " v", r.version, "\n");
    if (r.expiration == kHidden) continue;
    AppendRecord(key, r.version, r.expiration, r.metadata, r.value, &out);
  }
  return absl::StrCat(out, "missing:\n", missing);
}

kvstore::v1::SnapshotChunk ModelApplier::AsSnapshot() const {
  kvstore::v1::SnapshotChunk chunk;
  chunk.set_version(applied_);
  chunk.set_cluster_id(cluster_id_);
  chunk.set_last(true);
  for (const auto& [key, r] : records_) {
    kvstore::v1::Entry* e = r.missing ? chunk.add_missing_values() : chunk.add_entries();
    e->set_key(key);
    e->set_version(r.version);
    e->set_expiration(r.expiration);
    e->set_metadata(r.metadata);
    // A snapshot carries no value for a missing one; the store then holds it empty.
    if (!r.missing) e->set_value(r.value);
  }
  chunk.set_total_keys(records_.size());
  return chunk;
}

std::string StoreDigest(server::VersionedStore* store) {
  std::vector<kvstore::v1::Entry> entries;
  bool more = false;
  absl::Status s = store->List("", "", std::numeric_limits<size_t>::max(),
                               /*include_values=*/true, kHidden, &entries, &more);
  KV_FUZZ_CHECK(s.ok()) << "listing the store: " << s;
  std::string out, missing;
  for (const auto& e : entries) {
    AppendRecord(e.key(), e.version(), e.expiration(), e.metadata(), e.value(), &out);
  }
  std::vector<std::pair<std::string, uint64_t>> missing_keys;
  s = store->ScanMissingValues(std::numeric_limits<size_t>::max(), &missing_keys);
  KV_FUZZ_CHECK(s.ok()) << "scanning missing values: " << s;
  for (const auto& [key, version] : missing_keys) {
    absl::StrAppend(&missing, key.size(), ":", key, " v", version, "\n");
  }
  return absl::StrCat(out, "missing:\n", missing);
}

}  // namespace kv::fuzz
