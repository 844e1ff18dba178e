#pragma once
// A full edge receives values larger than the upstream's --push-value-limit as invalidations
// (key + version). This fetches those values in the background and installs each one only if
// the key is still at that version; until then reads of the key go to the upstream.
//
// Threading: Enqueue, pending and fetched may be called from any thread (the stream applier
// enqueues); fetches run one at a time on the fetcher's own thread, started by Start and joined
// by Stop. Ownership: the store and the upstream client belong to the full edge and outlive it.

#include <cstdint>
#include <deque>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/edge/upstream_client.h"
#include "server/storage/versioned_store.h"

namespace kv::server {

class ValueFetcher {
 public:
  ValueFetcher(VersionedStore* store, UpstreamClient* upstream, std::string node_id);
  ~ValueFetcher();

  // Starts the worker and queues every value still missing from an earlier run.
  void Start();
  void Stop();
  // The value of `key` at `version` is missing.
  void Enqueue(const std::string& key, uint64_t version);
  size_t pending() const;
  uint64_t fetched() const;

 private:
  void Run();
  // One fetch; returns false when it should be retried later.
  bool FetchOne(const std::string& key, uint64_t version);

  VersionedStore* const store_;
  UpstreamClient* const upstream_;
  const std::string node_id_;
  mutable absl::Mutex mu_;
  std::deque<std::pair<std::string, uint64_t>> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t fetched_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace kv::server
