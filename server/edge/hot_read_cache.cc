#include "server/edge/hot_read_cache.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "server/cache/key_hash.h"
#include "server/edge/cached_value_proto.h"

namespace kv::server {
namespace {

cache::HotKeyCache::Options CacheOptions(const HotReadCache::Options& options) {
  cache::HotKeyCache::Options o;
  o.capacity_bytes = options.capacity_bytes;
  return o;
}

}  // namespace

HotReadCache::HotReadCache(Options options)
    : stripe_mask_(std::bit_ceil(std::max<size_t>(options.stripes, 1)) - 1),
      cache_(CacheOptions(options)),
      generations_(new std::atomic<uint64_t>[stripe_mask_ + 1]) {
  for (size_t i = 0; i <= stripe_mask_; ++i) generations_[i].store(0);
}

size_t HotReadCache::StripeOf(absl::string_view key) const {
  return cache::HashKey(key) & stripe_mask_;
}

bool HotReadCache::LookupAllAsOf(absl::Span<const absl::string_view> keys, uint64_t as_of,
                                 std::vector<std::shared_ptr<const cache::CachedValue>>* out) {
  const bool hit = cache_.LookupAllIf(
      keys, out, [as_of](auto entries) { return NoneNewerThan(entries, as_of); });
  if (hook_) {
    for (absl::string_view key : keys) hook_(HookPoint::kAfterLookup, key);
  }
  return hit;
}

HotReadCache::Ticket HotReadCache::NewTicket(absl::string_view key) const {
  Ticket t;
  t.stripe = StripeOf(key);
  t.epoch = epoch_.load(std::memory_order_acquire);
  t.generation = generations_[t.stripe].load(std::memory_order_acquire);
  return t;
}

bool HotReadCache::Current(const Ticket& ticket) const {
  if (!guard_) return true;
  const uint64_t epoch = epoch_.load(std::memory_order_acquire);
  const uint64_t generation = generations_[ticket.stripe].load(std::memory_order_acquire);
  return epoch == ticket.epoch && generation == ticket.generation && epoch % 2 == 0 &&
         generation % 2 == 0;
}

bool HotReadCache::Offer(absl::string_view key, const Ticket& ticket, cache::CachedValue value) {
  if (hook_) hook_(HookPoint::kBeforeOffer, key);
  bool refused = false;
  // A ticket already stale needs no lock; a current one is checked again under the shard lock.
  if (!Current(ticket)) {
    refused = true;
  } else {
    cache_.AdmitIf(key, cache::MakeCachedValue(std::move(value)), [&] {
      refused = !Current(ticket);
      return !refused;
    });
  }
  if (refused) refused_offers_.fetch_add(1, std::memory_order_relaxed);
  return !refused;
}

void HotReadCache::BeginChanges(absl::Span<const KeyChange> changes) {
  open_stripes_.clear();
  updated_keys_.clear();
  open_stripes_.reserve(changes.size());
  for (const KeyChange& c : changes) open_stripes_.push_back(StripeOf(c.change->key()));
  std::sort(open_stripes_.begin(), open_stripes_.end());
  open_stripes_.erase(std::unique(open_stripes_.begin(), open_stripes_.end()), open_stripes_.end());
  // Bump first, then update: an Offer that checks under the shard lock after the update sees
  // the odd generation; one that ran before it is replaced (it is older) or erased.
  for (size_t stripe : open_stripes_) generations_[stripe].fetch_add(1, std::memory_order_acq_rel);
  for (const KeyChange& c : changes) {
    const absl::string_view key = c.change->key();
    // Not cached: stays so (admission is for what is read), and no record is built for it.
    if (cache_.Peek(key) == nullptr) continue;
    std::shared_ptr<const cache::CachedValue> record = CachedValueOfChange(*c.change, c.version);
    if (record != nullptr && cache_.UpdateIfPresent(key, std::move(record))) {
      updated_keys_.push_back(key);
    } else {
      // No value in the stream (refetched on a read), an entry evicted since the Peek, or one
      // that is not older (never expected): out, as the rule allows.
      cache_.Erase(key);
    }
    if (hook_) hook_(HookPoint::kKeyChanged, key);
  }
  if (hook_) hook_(HookPoint::kChangesBegun, "");
}

void HotReadCache::EndChanges(bool written) {
  // The store does not hold what was put in place: out before the stripes reopen (a reader that
  // missed meanwhile holds an odd ticket and cannot cache what it read).
  if (!written) {
    for (absl::string_view key : updated_keys_) cache_.Erase(key);
  }
  updated_keys_.clear();
  for (size_t stripe : open_stripes_) generations_[stripe].fetch_add(1, std::memory_order_acq_rel);
  open_stripes_.clear();
}

void HotReadCache::BeginReset() {
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  cache_.Clear();
}

void HotReadCache::EndReset() {
  // Nothing can have been admitted since BeginReset (the epoch was odd); cleared again anyway.
  cache_.Clear();
  epoch_.fetch_add(1, std::memory_order_acq_rel);
}

HotReadCache::Stats HotReadCache::GetStats() const {
  Stats s;
  s.cache = cache_.GetStats();
  s.refused_offers = refused_offers_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace kv::server
