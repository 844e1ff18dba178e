#include "replication/checksum.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kv::replication {
namespace {

struct Record {
  std::string key, value, metadata;
  uint64_t version = 0;
  int64_t expiration = 0;
};

uint64_t Term(const Record& r) {
  return RecordTerm(r.key, r.version, r.expiration, r.metadata, ValueHash(r.value));
}

uint64_t SumOf(const std::vector<Record>& records) {
  DatasetChecksum sum;
  for (const Record& r : records) sum.Add(Term(r));
  return sum.value();
}

TEST(Checksum, IsIndependentOfOrder) {
  std::vector<Record> records;
  for (int i = 0; i < 100; ++i) {
    records.push_back(
        {"key" + std::to_string(i), "value" + std::to_string(i), "", uint64_t(i + 1)});
  }
  const uint64_t sum = SumOf(records);
  std::mt19937 rng(7);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(records.begin(), records.end(), rng);
    EXPECT_EQ(SumOf(records), sum);
  }
}

TEST(Checksum, PutReplaceAndDeleteMatchARecomputation) {
  // A running sum updated per change equals the sum over what is left.
  std::map<std::string, Record> live;
  DatasetChecksum running;
  std::mt19937 rng(11);
  for (uint64_t version = 1; version <= 2000; ++version) {
    std::string key = "k" + std::to_string(rng() % 50);
    auto it = live.find(key);
    if (it != live.end()) running.Remove(Term(it->second));
    if (rng() % 4 == 0) {
      live.erase(key);
    } else {
      Record r{key, std::string(rng() % 40, 'a' + rng() % 26), rng() % 2 ? "m" : "", version,
               int64_t(rng() % 3)};
      running.Add(Term(r));
      live[key] = r;
    }
  }
  DatasetChecksum recomputed;
  for (const auto& [key, r] : live) recomputed.Add(Term(r));
  EXPECT_EQ(running.value(), recomputed.value());
}

TEST(Checksum, EveryFieldCounts) {
  Record base{"key", "value", "meta", 7, 100};
  const uint64_t term = Term(base);
  Record r = base;
  r.value = "valuf";
  EXPECT_NE(Term(r), term);
  r = base;
  r.version = 8;
  EXPECT_NE(Term(r), term);
  r = base;
  r.metadata = "metb";
  EXPECT_NE(Term(r), term);
  r = base;
  r.expiration = 101;
  EXPECT_NE(Term(r), term);
  // Fields are length-prefixed: moving bytes from the key into the metadata changes the term.
  r = base;
  r.key = "ke";
  r.metadata = "ymeta";
  EXPECT_NE(Term(r), term);
}

TEST(Checksum, AnInvalidationCountsThroughTheValueHash) {
  // An edge that holds only the hash of a value counts the record exactly as one holding it.
  Record r{"big", std::string(1 << 20, 'x'), "", 42, 0};
  EXPECT_EQ(RecordTerm(r.key, r.version, r.expiration, r.metadata, ValueHash(r.value)), Term(r));
  EXPECT_NE(RecordTerm(r.key, r.version, r.expiration, r.metadata, 0), Term(r));
}

}  // namespace
}  // namespace kv::replication
