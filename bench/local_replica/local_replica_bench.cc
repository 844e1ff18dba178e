// LocalReplica benchmarks (Google Benchmark): how fast an application reads from the edge inside
// its own process, and what the full copy costs in memory.
//
//   BM_HotGet         LocalReplica::Get of hot keys (1,000 keys read at random), 1 and 2 threads,
//                     against a real upstream; reports p50/p99/p999 latency (of every 8th Get)
//                     per thread as counters.
//   BM_HotBatchGet    BatchGet of 10 hot keys.
//   BM_StoreGet       MemoryStore::Get alone (the full copy's read path, without the replica's
//                     routing or an upstream) of 1,000 hot keys out of KV_KEYS, 1 and 2 threads.
//   BM_StoreMemory    heap bytes of a MemoryStore holding N keys (as the replica's full mode
//                     does) over the raw bytes of their keys and values. Heap is glibc's bytes in
//                     use: arena chunks and the blocks it maps on their own (mallinfo2's
//                     uordblks + hblkhd).
//
// Run by bench/local_replica.sh, which starts a central node, loads the keys and passes its
// address in KV_UPSTREAM (BM_HotGet and BM_HotBatchGet are skipped without it):
//   KV_UPSTREAM=127.0.0.1:7000 KV_KEYS=100000 build/bin/local_replica_bench

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "client/local_replica/memory_store.h"
#include "kv/local_replica.h"

namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoll(v) : fallback;
}

// kvbench's key space (bench/kvbench/keys.h): "kvbench/" and the index zero-padded to the width
// of the largest, so the keys kvbench preloads are the keys read here.
std::string Key(int64_t i) {
  static const int width = static_cast<int>(std::to_string(EnvInt("KV_KEYS", 100000) - 1).size());
  return absl::StrFormat("kvbench/%0*d", width, i);
}

// One replica for the whole run, synced before the first benchmark.
kv::client::LocalReplica* Replica() {
  static std::unique_ptr<kv::client::LocalReplica> replica = [] {
    std::unique_ptr<kv::client::LocalReplica> r;
    const char* upstream = std::getenv("KV_UPSTREAM");
    if (upstream == nullptr) return r;
    kv::client::LocalReplicaOptions options;
    options.upstream = upstream;
    auto created = kv::client::LocalReplica::Create(options);
    if (!created.ok()) {
      std::fprintf(stderr, "%s\n", created.status().ToString().c_str());
      std::exit(1);
    }
    r = *std::move(created);
    if (auto s = r->WaitUntilReady(absl::Seconds(120)); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      std::exit(1);
    }
    std::fprintf(stderr, "replica holds %llu keys at version %llu\n",
                 static_cast<unsigned long long>(r->Status().keys),
                 static_cast<unsigned long long>(r->Status().applied_version));
    return r;
  }();
  return replica.get();
}

void ReportLatency(benchmark::State& state, std::vector<uint32_t>& nanos) {
  if (nanos.empty()) return;
  std::sort(nanos.begin(), nanos.end());
  state.counters["p50_us"] = nanos[nanos.size() / 2] / 1000.0;
  state.counters["p99_us"] = nanos[nanos.size() * 99 / 100] / 1000.0;
  state.counters["p999_us"] = nanos[nanos.size() * 999 / 1000] / 1000.0;
}

void BM_HotGet(benchmark::State& state) {
  kv::client::LocalReplica* replica = Replica();
  if (replica == nullptr) return state.SkipWithError("KV_UPSTREAM is not set");
  const int64_t keys = EnvInt("KV_KEYS", 100000);
  const int64_t hot = std::min<int64_t>(1000, keys);
  std::mt19937_64 rng(state.thread_index() + 1);
  std::vector<std::string> hot_keys;
  for (int64_t i = 0; i < hot; ++i) hot_keys.push_back(Key(i * (keys / hot)));
  std::vector<uint32_t> nanos;
  nanos.reserve(1 << 22);
  int64_t found = 0;
  // Every 8th Get is timed (two clock reads cost about a tenth of a Get): the percentiles come
  // from a uniform sample, and the throughput is not the clock's.
  uint64_t n = 0;
  for (auto _ : state) {
    const std::string& key = hot_keys[rng() % hot_keys.size()];
    const bool timed = (++n & 7) == 0 && nanos.size() < nanos.capacity();
    std::chrono::steady_clock::time_point t0;
    if (timed) t0 = std::chrono::steady_clock::now();
    auto got = replica->Get(key);
    if (timed) {
      nanos.push_back(static_cast<uint32_t>((std::chrono::steady_clock::now() - t0).count()));
    }
    found += got.ok() && got->found && got->info.source == kv::client::Source::kLocalReplica;
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(state.iterations());
  if (found != static_cast<int64_t>(state.iterations())) {
    state.SkipWithError("some Gets were not answered by the replica");
  }
  ReportLatency(state, nanos);
}
BENCHMARK(BM_HotGet)->Threads(1)->Threads(2)->UseRealTime()->MinTime(2.0);

void BM_HotBatchGet(benchmark::State& state) {
  kv::client::LocalReplica* replica = Replica();
  if (replica == nullptr) return state.SkipWithError("KV_UPSTREAM is not set");
  const int64_t keys = EnvInt("KV_KEYS", 100000);
  std::mt19937_64 rng(state.thread_index() + 1);
  std::vector<std::string> batch(10);
  for (auto _ : state) {
    for (auto& k : batch) k = Key(rng() % std::min<int64_t>(1000, keys) * (keys / 1000));
    auto got = replica->BatchGet(batch);
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(state.iterations() * batch.size());
}
BENCHMARK(BM_HotBatchGet)->Threads(1)->Threads(2)->UseRealTime()->MinTime(1.0);

// Blocks above glibc's mmap threshold (128 KiB at first, raised as mapped blocks are freed) are
// mapped on their own and not counted in uordblks; a hash table of a shard is one such block, so
// counting only uordblks would miss it or not depending on what ran before.
size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// A store of KV_KEYS keys of 100 bytes, installed by a snapshot as the replica's would be.
kv::replica::MemoryStore* LoadedStore() {
  static kv::replica::MemoryStore* store = [] {
    auto* s = new kv::replica::MemoryStore();
    (void)s->BeginSnapshot();
    const int64_t n = EnvInt("KV_KEYS", 100000);
    for (int64_t start = 0; start < n; start += 1000) {
      kvstore::v1::SnapshotChunk chunk;
      for (int64_t i = start; i < std::min(n, start + 1000); ++i) {
        auto* e = chunk.add_entries();
        e->set_key(Key(i));
        e->set_value(std::string(100, static_cast<char>('a' + i % 26)));
        e->set_version(i + 1);
      }
      (void)s->ApplySnapshotChunk(chunk);
    }
    (void)s->FinishSnapshot(n, "bench");
    return s;
  }();
  return store;
}

void BM_StoreGet(benchmark::State& state) {
  kv::replica::MemoryStore* store = LoadedStore();
  const int64_t keys = EnvInt("KV_KEYS", 100000);
  const int64_t hot = std::min<int64_t>(1000, keys);
  std::mt19937_64 rng(state.thread_index() + 1);
  std::vector<std::string> hot_keys;
  for (int64_t i = 0; i < hot; ++i) hot_keys.push_back(Key(i * (keys / hot)));
  kv::replica::StoredRecord record;
  int64_t found = 0;
  for (auto _ : state) {
    found += store->Get(hot_keys[rng() % hot_keys.size()], &record);
    benchmark::DoNotOptimize(record);
  }
  state.SetItemsProcessed(state.iterations());
  if (found != static_cast<int64_t>(state.iterations())) state.SkipWithError("a key was missing");
}
BENCHMARK(BM_StoreGet)->Threads(1)->Threads(2)->UseRealTime()->MinTime(1.0);

void BM_StoreMemory(benchmark::State& state) {
  const int64_t n = state.range(0);
  const size_t value_bytes = 100;
  for (auto _ : state) {
    malloc_trim(0);
    const size_t before = HeapInUse();
    auto store = std::make_unique<kv::replica::MemoryStore>();
    (void)store->BeginSnapshot();
    uint64_t raw = 0;
    constexpr int64_t kChunk = 1000;
    for (int64_t start = 0; start < n; start += kChunk) {
      kvstore::v1::SnapshotChunk chunk;
      for (int64_t i = start; i < std::min(n, start + kChunk); ++i) {
        auto* e = chunk.add_entries();
        e->set_key(Key(i));
        e->set_value(std::string(value_bytes, static_cast<char>('a' + i % 26)));
        e->set_version(i + 1);
        raw += e->key().size() + e->value().size();
      }
      (void)store->ApplySnapshotChunk(chunk);
    }
    (void)store->FinishSnapshot(n, "bench");
    const size_t after = HeapInUse();
    state.counters["raw_MiB"] = raw / 1048576.0;
    state.counters["heap_MiB"] = (after - before) / 1048576.0;
    state.counters["heap_per_raw"] = static_cast<double>(after - before) / raw;
    state.counters["bytes_per_key"] = static_cast<double>(after - before) / n;
  }
}
BENCHMARK(BM_StoreMemory)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Arg(3000000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
