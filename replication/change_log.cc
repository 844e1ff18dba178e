#include "replication/change_log.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/slice.h"

namespace kv::replication {

using kvstore::v1::Change;

namespace {
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}
}  // namespace

std::string EncodeVersionKey(uint64_t version) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(version & 0xff);
    version >>= 8;
  }
  return key;
}

bool DecodeVersionKey(absl::string_view key, uint64_t* version) {
  if (key.size() != 8) return false;
  uint64_t v = 0;
  for (char c : key) v = (v << 8) | static_cast<uint8_t>(c);
  *version = v;
  return true;
}

ChangeLog::ChangeLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}

absl::Status ChangeLog::Load(uint64_t head_version) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  it->SeekToFirst();
  uint64_t first = head_version + 1;
  if (it->Valid()) {
    if (!DecodeVersionKey(ToView(it->key()), &first)) {
      return absl::DataLossError("change log holds a malformed key");
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the change log");
  newest_.store(head_version, std::memory_order_release);
  oldest_.store(first, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status ChangeLog::Append(const Change& change, rocksdb::WriteBatch* batch) {
  std::string serialized;
  if (!change.SerializeToString(&serialized)) {
    return absl::InternalError("cannot serialize a change");
  }
  AppendSerialized(change.version(), serialized, batch);
  return absl::OkStatus();
}

void ChangeLog::AppendSerialized(uint64_t version, const std::string& serialized,
                                 rocksdb::WriteBatch* batch) {
  batch->Put(cf_, EncodeVersionKey(version), serialized);
}

void ChangeLog::Committed(uint64_t newest) { newest_.store(newest, std::memory_order_release); }

absl::Status ChangeLog::Read(uint64_t from, size_t max_entries, size_t max_bytes,
                             std::vector<Change>* out) const {
  rocksdb::ReadOptions options;
  options.fill_cache = false;  // catch-up reads should not push hot data out of the cache
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, cf_));
  size_t bytes = 0;
  uint64_t expected = from;
  for (it->Seek(EncodeVersionKey(from)); it->Valid() && out->size() < max_entries; it->Next()) {
    uint64_t version = 0;
    if (!DecodeVersionKey(ToView(it->key()), &version)) {
      return absl::DataLossError("change log holds a malformed key");
    }
    if (version != expected) {
      // A hole means the range was trimmed under us (or corruption): the caller treats the
      // missing part as gone and answers RESET, never skips it silently.
      return absl::OutOfRangeError(
          absl::StrCat("change log has no version ", expected, " (next is ", version, ")"));
    }
    // Stop before an entry that would take the batch past max_bytes (one alone may fill it).
    if (!out->empty() && bytes + it->value().size() > max_bytes) break;
    Change change;
    if (!change.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("change log entry ", version, " is corrupt"));
    }
    if (change.version() != version) {
      // Readers advance by the change's own version: one stored under another version's key
      // would make them skip or repeat versions.
      return absl::DataLossError(
          absl::StrCat("change log entry ", version, " holds version ", change.version()));
    }
    bytes += it->value().size();
    out->push_back(std::move(change));
    ++expected;
  }
  return FromRocks(it->status(), "reading the change log");
}

absl::Status ChangeLog::TrimBefore(uint64_t new_oldest) {
  uint64_t old = oldest();
  if (new_oldest <= old) return absl::OkStatus();
  // Publish the new bound first: a reader that saw the old bound and finds a hole gets
  // OUT_OF_RANGE and resets; none can read a half-deleted range as complete.
  oldest_.store(new_oldest, std::memory_order_release);
  rocksdb::WriteOptions options;
  return FromRocks(
      db_->DeleteRange(options, cf_, EncodeVersionKey(old), EncodeVersionKey(new_oldest)),
      "trimming the change log");
}

absl::Status ChangeLog::Reset(uint64_t next_version, rocksdb::WriteBatch* batch) {
  batch->DeleteRange(cf_, EncodeVersionKey(0), EncodeVersionKey(UINT64_MAX));
  oldest_.store(next_version, std::memory_order_release);
  newest_.store(next_version - 1, std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ChangeLog::FirstVersionAtOrAfter(int64_t unix_micros,
                                                          size_t max_scan) const {
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, cf_));
  uint64_t result = oldest();
  size_t scanned = 0;
  for (it->Seek(EncodeVersionKey(result)); it->Valid() && scanned < max_scan;
       it->Next(), ++scanned) {
    Change change;
    uint64_t version = 0;
    if (!DecodeVersionKey(ToView(it->key()), &version) ||
        !change.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("change log entry is corrupt");
    }
    if (change.commit_unix_micros() >= unix_micros) return version;
    result = version + 1;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning the change log");
  return result;
}

}  // namespace kv::replication
