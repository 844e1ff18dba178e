#include "server/cache/w_tiny_lfu.h"

#include <algorithm>
#include <utility>

namespace kv::server::cache {
namespace {

FrequencySketch::Options SketchOptions(const WTinyLfu::Options& o) {
  FrequencySketch::Options s;
  s.expected_entries = o.expected_entries;
  s.sample_factor = o.sample_factor;
  s.doorkeeper = o.doorkeeper;
  return s;
}

size_t Charge(const CacheNode& e, const CachedValue& value) {
  return AllocationBytes(&e, e.allocation_size()) + ValueHeapBytes(value);
}

}  // namespace

WTinyLfu::WTinyLfu(const Options& options)
    : options_(options),
      window_max_(static_cast<size_t>(options.capacity_bytes * options.window_fraction)),
      protected_max_(
          static_cast<size_t>((options.capacity_bytes - window_max_) * options.protected_fraction)),
      table_(0, CacheNodeHash(), CacheNodeEq(), CountingAllocator<CacheNode*>(&table_bytes_)),
      sketch_(SketchOptions(options)),
      random_state_(Mix64(options.seed) | 1) {}

WTinyLfu::~WTinyLfu() {
  for (CacheNode* e : table_) delete e;
}

size_t WTinyLfu::ChargeOf(absl::string_view key, const CachedValue& value) {
  // What the allocator makes of a node of this size: measured on a probe made the same way.
  return Charge(*CacheNode::New(key), value);
}

CacheNode* WTinyLfu::Find(const HashedKey& key) const {
  auto it = table_.find(key);
  return it == table_.end() ? nullptr : *it;
}

CacheNodeList& WTinyLfu::ListOf(Segment segment) {
  switch (segment) {
    case Segment::kWindow:
      return window_;
    case Segment::kProbation:
      return probation_;
    default:
      return protected_;
  }
}

Segment WTinyLfu::SegmentOf(absl::string_view key) const {
  const CacheNode* e = Find(HashedKey(key));
  return e == nullptr ? Segment::kNone : e->segment;
}

uint64_t WTinyLfu::NextRandom() {
  // xorshift64: the shard's lock serialises it, and it only has to be unpredictable enough
  // that a flooder cannot count on never being admitted.
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  return random_state_;
}

std::shared_ptr<const CachedValue> WTinyLfu::Lookup(const HashedKey& key) {
  CacheNode* e = FindForRead(key);
  if (e == nullptr) {
    sketch_.Increment(key.hash);
    ++counters_.misses;
    return nullptr;
  }
  RecordHit(e, key);
  return e->value;
}

std::shared_ptr<const CachedValue> WTinyLfu::LookupIfCached(const HashedKey& key) {
  CacheNode* e = FindForRead(key);
  if (e == nullptr) return nullptr;
  RecordHit(e, key);
  return e->value;
}

CacheNode* WTinyLfu::FindForRead(const HashedKey& key) {
  // A hit in a large cache is a chain of cache misses (table slot, node, list neighbours, sketch
  // block, value): start the ones that do not depend on each other together.
  sketch_.Prefetch(key.hash);
  table_.prefetch(key);
  CacheNode* e = Find(key);
  if (e == nullptr) return nullptr;
  if (e->prev != nullptr) __builtin_prefetch(e->prev, /*rw=*/1);
  if (e->next != nullptr) __builtin_prefetch(e->next, /*rw=*/1);
  __builtin_prefetch(e->value.get());
  return e;
}

void WTinyLfu::PrefetchSlot(const HashedKey& key) const {
  sketch_.Prefetch(key.hash);
  table_.prefetch(key);
}

void WTinyLfu::PrefetchEntry(const HashedKey& key) const {
  auto it = table_.find(HashProbe{key.hash});
  if (it != table_.end()) __builtin_prefetch(*it);
}

void WTinyLfu::RecordHit(CacheNode* e, const HashedKey& key) {
  sketch_.Increment(key.hash);
  ++counters_.hits;
  switch (e->segment) {
    case Segment::kWindow:
      window_.MoveToFront(e);
      break;
    case Segment::kProbation:
      probation_.Remove(e);
      e->segment = Segment::kProtected;
      protected_.PushFront(e);
      ++counters_.protected_promotions;
      DemoteProtectedOverflow();
      break;
    case Segment::kProtected:
      protected_.MoveToFront(e);
      break;
    case Segment::kNone:
      break;
  }
  // The caller reads the value next; its bytes are a separate allocation.
  __builtin_prefetch(e->value->value.data());
}

void WTinyLfu::DemoteProtectedOverflow() {
  while (protected_.bytes() > protected_max_ && protected_.size() > 1) {
    CacheNode* e = protected_.back();
    protected_.Remove(e);
    e->segment = Segment::kProbation;
    probation_.PushFront(e);
  }
}

bool WTinyLfu::Admit(const HashedKey& key, std::shared_ptr<const CachedValue> value,
                     Garbage* garbage) {
  if (CacheNode* e = Find(key); e != nullptr) {
    if (value->version > e->value->version) {
      Replace(e, std::move(value), garbage);
      Maintain(garbage);
    }
    return e->segment != Segment::kNone;
  }

  std::unique_ptr<CacheNode> owned = CacheNode::New(key.key);
  CacheNode* e = owned.get();
  e->hash = key.hash;
  e->charge = Charge(*e, *value);
  // Never evict anything for an entry that cannot fit even in an empty shard.
  if (e->charge + table_bytes_ + sketch_.HeapBytes() > options_.capacity_bytes) {
    ++counters_.too_large;
    return false;
  }
  if (!value->found) ++negative_entries_;
  e->value = std::move(value);
  e->segment = Segment::kWindow;
  table_.insert(owned.release());
  window_.PushFront(e);
  entry_bytes_ += e->charge;
  // The sketch follows the most entries held (as Caffeine sizes it to the maximum size): its
  // table grows with use, keeping its counts, instead of being sized up front from the budget.
  if (table_.size() > sketch_.expected_entries()) sketch_.EnsureCapacity(table_.size());
  Maintain(garbage);
  return e->segment != Segment::kNone;
}

bool WTinyLfu::UpdateIfPresent(const HashedKey& key, std::shared_ptr<const CachedValue> value,
                               Garbage* garbage) {
  CacheNode* e = Find(key);
  if (e == nullptr || value->version <= e->value->version) return false;
  Replace(e, std::move(value), garbage);
  Maintain(garbage);
  return true;
}

void WTinyLfu::Replace(CacheNode* e, std::shared_ptr<const CachedValue> value, Garbage* garbage) {
  const size_t charge = Charge(*e, *value);
  negative_entries_ += (value->found ? 0 : 1);
  negative_entries_ -= (e->value->found ? 0 : 1);
  entry_bytes_ = entry_bytes_ - e->charge + charge;
  ListOf(e->segment).Recharge(e, charge);
  garbage->replaced.push_back(std::exchange(e->value, std::move(value)));
}

bool WTinyLfu::Erase(const HashedKey& key, Garbage* garbage) {
  CacheNode* e = Find(key);
  if (e == nullptr) return false;
  Detach(e, &garbage->erased);
  return true;
}

void WTinyLfu::Clear(Garbage* garbage) {
  garbage->erased.reserve(garbage->erased.size() + table_.size());
  for (CacheNode* e : table_) garbage->erased.emplace_back(e);
  table_.clear();
  for (CacheNodeList* list : {&window_, &probation_, &protected_}) {
    while (CacheNode* e = list->back()) {
      list->Remove(e);
      e->segment = Segment::kNone;
    }
  }
  entry_bytes_ = 0;
  negative_entries_ = 0;
}

void WTinyLfu::Detach(CacheNode* e, std::vector<std::unique_ptr<CacheNode>>* out) {
  ListOf(e->segment).Remove(e);
  e->segment = Segment::kNone;
  table_.erase(e);
  entry_bytes_ -= e->charge;
  if (!e->value->found) --negative_entries_;
  out->emplace_back(e);
}

void WTinyLfu::Maintain(Garbage* garbage) {
  while (window_.bytes() > window_max_) {
    CacheNode* c = window_.back();
    if (bytes_used() <= options_.capacity_bytes) {
      // Room for everyone: the candidate enters the main space unopposed.
      window_.Remove(c);
      c->segment = Segment::kProbation;
      probation_.PushFront(c);
      ++counters_.window_admissions;
    } else if (!AdmitCandidate(c, garbage)) {
      ++counters_.rejections;
      Detach(c, &garbage->evicted);
    }
  }
  // Over budget without a window overflow (a value grew, the table or sketch grew): evict by
  // recency alone, least valuable region first.
  while (bytes_used() > options_.capacity_bytes) {
    CacheNode* victim = probation_.back();
    if (victim == nullptr) victim = protected_.back();
    if (victim == nullptr) victim = window_.back();
    if (victim == nullptr) break;
    ++counters_.evictions;
    Detach(victim, &garbage->evicted);
  }
}

bool WTinyLfu::AdmitCandidate(CacheNode* c, Garbage* garbage) {
  const size_t need = bytes_used() - options_.capacity_bytes;
  // Find the victims that would make room: probation tail first, then protected tail.
  size_t freed = 0;
  int strongest = -1;
  CacheNode* v = probation_.back();
  bool in_probation = true;
  while (freed < need) {
    if (v == nullptr) {
      if (!in_probation) break;
      in_probation = false;
      v = protected_.back();
      continue;
    }
    strongest = std::max(strongest, sketch_.Estimate(v->hash));
    freed += v->charge;
    v = v->prev;
  }
  if (freed < need) return false;  // the main space cannot hold it

  const int frequency = sketch_.Estimate(c->hash);
  const bool admit =
      frequency > strongest ||
      (options_.random_admission && frequency >= kRandomAdmissionMin && (NextRandom() & 127) == 0);
  if (!admit) return false;

  while (bytes_used() > options_.capacity_bytes) {
    CacheNode* victim = probation_.back() != nullptr ? probation_.back() : protected_.back();
    ++counters_.evictions;
    Detach(victim, &garbage->evicted);
  }
  window_.Remove(c);
  c->segment = Segment::kProbation;
  probation_.PushFront(c);
  ++counters_.window_admissions;
  return true;
}

void WTinyLfu::ForEach(absl::FunctionRef<void(const CacheNode&)> fn) const {
  for (const CacheNodeList* list : {&protected_, &probation_, &window_}) {
    for (const CacheNode* e = list->front(); e != nullptr; e = e->next) fn(*e);
  }
}

}  // namespace kv::server::cache
