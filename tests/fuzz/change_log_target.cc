// fuzz_change_log: ChangeLog::Load, Read and FirstVersionAtOrAfter over a log column family
// holding whatever the input says: well-formed entries, holes, keys of the wrong length,
// payloads that are not a Change, and Changes stored under another version's key.
//
// Each call is compared with a reference implementation of its contract written from
// replication/change_log.h: Read returns consecutive versions from `from`, stops at
// `max_entries`, before passing `max_bytes`, or where the log ends, and fails rather than skip or
// return anything malformed (DATA_LOSS) or missing (OUT_OF_RANGE). A change returned for
// version v carries version v: the publisher advances its cursor by it.
//
// Input: flags, head version, from, max_entries, max_bytes, a time and a scan bound for
// FirstVersionAtOrAfter, then up to 32 entries (see ReadEntry).

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/slice.h"
#include "replication/change_log.h"
#include "rocksdb/db.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/targets.h"

namespace kv::fuzz {
namespace {

using kvstore::v1::Change;
using replication::ChangeLog;
using replication::DecodeVersionKey;
using replication::EncodeVersionKey;

constexpr size_t kMaxEntries = 32;
constexpr uint64_t kInputsPerDb = 2000;

// A RocksDB with a "log" column family that is dropped and created again for every input:
// deleting the entries instead leaves tombstones every later seek has to skip (the fuzzer
// slowed down to 200 inputs/s within minutes). The database itself is reopened in a fresh
// directory now and then, so its MANIFEST does not grow without bound.
class LogDb {
 public:
  static LogDb& Get() {
    static LogDb* db = new LogDb();
    return *db;
  }
  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf() { return cf_; }
  // An empty log column family.
  void Recycle() {
    if (++inputs_ % kInputsPerDb == 0) {
      Close();
      Open();
      return;
    }
    KV_FUZZ_CHECK(db_->DropColumnFamily(cf_).ok());
    KV_FUZZ_CHECK(db_->DestroyColumnFamilyHandle(cf_).ok());
    rocksdb::Status s = db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "log", &cf_);
    KV_FUZZ_CHECK(s.ok()) << s.ToString();
  }

 private:
  LogDb() {
    std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    if (const char* t = getenv("KV_FUZZ_TMPDIR"); t != nullptr) base = t;
    std::string pattern = base + "/kvfuzz-log-XXXXXX";
    KV_FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr) << "mkdtemp under " << base;
    root_ = pattern;
    Open();
    atexit([] {
      LogDb& db = Get();
      db.Close();
      std::error_code ignored;
      std::filesystem::remove_all(db.root_, ignored);
    });
  }
  void Open() {
    path_ = absl::StrCat(root_, "/db-", opened_++);
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, path_, &raw);
    KV_FUZZ_CHECK(s.ok()) << s.ToString();
    db_.reset(raw);
    s = db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "log", &cf_);
    KV_FUZZ_CHECK(s.ok()) << s.ToString();
  }
  void Close() {
    db_->DestroyColumnFamilyHandle(cf_);
    cf_ = nullptr;
    db_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  std::string root_, path_;
  uint64_t opened_ = 0, inputs_ = 0;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* cf_ = nullptr;
};

// One log entry: tag bit 0 picks a raw key (else a version key), bit 2 a large version, bits
// 4-5 the payload: 0 a Change of this version, 1 a Change of another version, 2-3 raw bytes.
void ReadEntry(FuzzInput* in, std::map<std::string, std::string>* entries) {
  uint8_t tag = in->U8();
  std::string key;
  uint64_t version = 0;
  if ((tag & 1) != 0) {
    key = std::string(in->LengthPrefixed(24));
  } else {
    version = (tag & 4) != 0 ? in->Varint() : in->U8();
    key = EncodeVersionKey(version);
  }
  std::string value;
  switch ((tag >> 4) & 3) {
    case 0:
    case 1: {
      Change c;
      c.set_version(((tag >> 4) & 3) == 0 ? version : in->Varint());
      c.set_kind(static_cast<Change::Kind>(in->U8() % 4));
      c.set_key(std::string(in->LengthPrefixed(16)));
      c.set_value(std::string(in->LengthPrefixed(64)));
      c.set_commit_unix_micros(static_cast<int64_t>(in->Varint()));
      value = c.SerializeAsString();
      break;
    }
    default:
      value = std::string(in->LengthPrefixed(64));
  }
  (*entries)[key] = value;
}

struct Expected {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::vector<std::string> changes;  // serialized, in order
};

// The contract of ChangeLog::Read, over the entries as written.
Expected ReferenceRead(const std::map<std::string, std::string>& entries, uint64_t from,
                       size_t max_entries, size_t max_bytes) {
  Expected e;
  size_t bytes = 0;
  uint64_t expected = from;
  for (auto it = entries.lower_bound(EncodeVersionKey(from));
       it != entries.end() && e.changes.size() < max_entries; ++it) {
    uint64_t version = 0;
    if (!DecodeVersionKey(it->first, &version)) return {absl::StatusCode::kDataLoss, {}};
    if (version != expected) return {absl::StatusCode::kOutOfRange, {}};
    // Stops before an entry that would pass max_bytes; the first one is always taken.
    if (!e.changes.empty() && bytes + it->second.size() > max_bytes) break;
    Change c;
    if (!c.ParseFromString(it->second) || c.version() != version) {
      return {absl::StatusCode::kDataLoss, {}};
    }
    e.changes.push_back(c.SerializeAsString());
    bytes += it->second.size();
    ++expected;
  }
  return e;
}

// The contract of ChangeLog::FirstVersionAtOrAfter.
absl::StatusOr<uint64_t> ReferenceFirst(const std::map<std::string, std::string>& entries,
                                        uint64_t oldest, int64_t micros, size_t max_scan) {
  uint64_t result = oldest;
  size_t scanned = 0;
  for (auto it = entries.lower_bound(EncodeVersionKey(oldest));
       it != entries.end() && scanned < max_scan; ++it, ++scanned) {
    uint64_t version = 0;
    Change c;
    if (!DecodeVersionKey(it->first, &version) || !c.ParseFromString(it->second)) {
      return absl::DataLossError("corrupt");
    }
    if (c.commit_unix_micros() >= micros) return version;
    result = version + 1;
  }
  return result;
}

void Check(const std::map<std::string, std::string>& entries, FuzzInput* in, uint64_t head,
           rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
  const uint64_t from = in->Varint();
  const size_t max_entries = in->U8() % 40;
  const size_t max_bytes = in->Varint();
  const int64_t micros = static_cast<int64_t>(in->Varint());
  const size_t max_scan = in->U8() % 40;

  ChangeLog log(db, cf);
  absl::Status loaded = log.Load(head);
  uint64_t first = head + 1;
  bool first_ok = entries.empty() || DecodeVersionKey(entries.begin()->first, &first);
  KV_FUZZ_CHECK(loaded.ok() == first_ok) << loaded;
  if (!loaded.ok()) {
    KV_FUZZ_CHECK(loaded.code() == absl::StatusCode::kDataLoss) << loaded;
    return;
  }
  KV_FUZZ_CHECK(log.newest() == head && log.oldest() == first)
      << "oldest " << log.oldest() << " newest " << log.newest();

  std::vector<Change> out;
  absl::Status read = log.Read(from, max_entries, max_bytes, &out);
  Expected want = ReferenceRead(entries, from, max_entries, max_bytes);
  KV_FUZZ_CHECK(read.code() == want.code)
      << "Read(" << from << ", " << max_entries << ", " << max_bytes << ") = " << read;
  if (read.ok()) {
    KV_FUZZ_CHECK(out.size() == want.changes.size()) << out.size() << " vs " << want.changes.size();
    for (size_t i = 0; i < out.size(); ++i) {
      KV_FUZZ_CHECK(out[i].version() == from + i)
          << "change " << i << " has version " << out[i].version();
      KV_FUZZ_CHECK(out[i].SerializeAsString() == want.changes[i]) << "change " << i;
    }
  }

  auto found = log.FirstVersionAtOrAfter(micros, max_scan);
  auto want_first = ReferenceFirst(entries, log.oldest(), micros, max_scan);
  KV_FUZZ_CHECK(found.ok() == want_first.ok()) << found.status();
  if (found.ok()) {
    KV_FUZZ_CHECK(*found == *want_first) << *found << " vs " << *want_first;
    // Or 0: after an entry at version 2^64-1 the answer wraps (versions never get there).
    KV_FUZZ_CHECK(*found >= log.oldest() || *found == 0) << *found;
  }
}

}  // namespace

int FuzzChangeLog(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint64_t head = in.Varint();
  std::map<std::string, std::string> entries;
  FuzzInput params(nullptr, 0);
  {
    // The call parameters come first so that entries can use the rest of the input.
    absl::string_view p = in.LengthPrefixed(40);
    params = FuzzInput(reinterpret_cast<const uint8_t*>(p.data()), p.size());
  }
  for (size_t i = 0; i < kMaxEntries && !in.empty(); ++i) ReadEntry(&in, &entries);

  LogDb& db = LogDb::Get();
  db.Recycle();
  rocksdb::WriteBatch batch;
  for (const auto& [k, v] : entries) batch.Put(db.cf(), k, v);
  KV_FUZZ_CHECK(db.db()->Write(rocksdb::WriteOptions(), &batch).ok());
  Check(entries, &params, head, db.db(), db.cf());
  return 0;
}

}  // namespace kv::fuzz
