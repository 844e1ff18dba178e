// fuzz_stream_receiver: hostile replication streams against the downstream's rules.
//
// Input: one flag byte, then up to kMaxMessages varint-length-prefixed UpstreamMessages (bytes
// that do not parse are skipped). Every input starts from the seed snapshot (version 100 of
// cluster "fuzz-cluster") and is fed, message by message, to two StreamReceivers in lockstep:
// one over the real FullEdgeApplier (RocksDB), one over an in-memory model. After each message:
//   - both answer the same code, which is OK, ABORTED (reset) or DATA_LOSS;
//   - the applied version never decreases, and the store's head, its log's newest entry, its
//     publisher's head and the model's applied version are all equal;
//   - the store's content equals the model's;
//   - a refused message changed nothing; an accepted batch moved the head by exactly its size,
//     with consecutive versions, and the log holds exactly those changes;
//   - staleness is never negative and fresh-as-of never lies in the future.
// After a refusal the receivers are replaced (the Subscriber resubscribes from applied + 1);
// after a RESET both sides reinstall a snapshot of the model's content.
// Flag bit 0 instead runs the model alone, as a cache edge starting from the upstream's head.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"
#include "replication/freshness.h"
#include "replication/stream_receiver.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/model_applier.h"
#include "tests/fuzz/stream_harness.h"
#include "tests/fuzz/targets.h"

namespace kv::fuzz {
namespace {

using kvstore::v1::Change;
using kvstore::v1::UpstreamMessage;
using replication::FreshnessTracker;
using replication::StreamReceiver;

constexpr size_t kMaxMessages = 64;

bool NextMessage(FuzzInput* in, UpstreamMessage* msg) {
  while (!in->empty()) {
    absl::string_view bytes = in->LengthPrefixed();
    msg->Clear();
    if (msg->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return true;
  }
  return false;
}

bool Refusal(const absl::Status& s) {
  return s.code() == absl::StatusCode::kAborted || s.code() == absl::StatusCode::kDataLoss;
}

void CheckFreshness(const FreshnessTracker& f, ManualClock* clock) {
  int64_t staleness = f.StalenessMicros();
  KV_FUZZ_CHECK(staleness >= 0) << "negative staleness " << staleness;
  KV_FUZZ_CHECK(f.FreshAsOfMicros() <= clock->MonotonicMicros())
      << "fresh as of " << f.FreshAsOfMicros() << ", a time after now " << clock->MonotonicMicros();
}

// A new receiver after a refusal: resubscribing from applied + 1, as the Subscriber does.
std::unique_ptr<StreamReceiver> Resubscribe(replication::ChangeApplier* applier,
                                            FreshnessTracker* freshness, uint64_t* last) {
  return std::make_unique<StreamReceiver>(
      applier, /*head=*/nullptr, freshness, applier->applied_version() + 1,
      [applier, last](uint64_t applied) {
        KV_FUZZ_CHECK(applied >= *last) << "applied went back from " << *last << " to " << applied;
        KV_FUZZ_CHECK(applied == applier->applied_version());
        *last = applied;
      });
}

// After a RESET: both sides take a snapshot of the model's content (see StreamHarness for why
// the store's side does not call BeginSnapshot).
void ReinstallSnapshot(StreamHarness* harness, ModelApplier* model) {
  kvstore::v1::SnapshotChunk chunk = model->AsSnapshot();
  std::vector<std::string> keys;
  for (const auto& [key, record] : model->records()) keys.push_back(key);
  harness->Restore(chunk, keys);
  absl::Status s = model->BeginSnapshot();
  if (s.ok()) s = model->ApplySnapshotChunk(chunk);
  if (s.ok()) s = model->FinishSnapshot(chunk.version(), chunk.cluster_id());
  KV_FUZZ_CHECK(s.ok()) << "reinstalling a snapshot: " << s;
}

void CheckAcceptedBatch(server::VersionedStore* store, uint64_t head_before,
                        const std::vector<Change>& sent) {
  KV_FUZZ_CHECK(store->head_version() == head_before + sent.size())
      << "a batch of " << sent.size() << " moved the head from " << head_before << " to "
      << store->head_version();
  std::vector<Change> logged;
  absl::Status s =
      store->log().Read(head_before + 1, sent.size(), std::numeric_limits<size_t>::max(), &logged);
  KV_FUZZ_CHECK(s.ok()) << "reading back the batch: " << s;
  KV_FUZZ_CHECK(logged.size() == sent.size()) << logged.size() << " of " << sent.size();
  for (size_t i = 0; i < sent.size(); ++i) {
    KV_FUZZ_CHECK(sent[i].version() == head_before + 1 + i) << "accepted a non-consecutive batch";
    KV_FUZZ_CHECK(logged[i].SerializeAsString() == sent[i].SerializeAsString())
        << "log entry " << head_before + 1 + i << " differs from what was applied";
  }
}

// A cache edge's receiver: starts from the upstream's head, over the model only.
void RunFromHead(FuzzInput* in, ModelApplier* model) {
  ManualClock clock;
  FreshnessTracker freshness(&clock);
  StreamReceiver receiver(model, /*head=*/model, &freshness, /*from_version=*/0);
  UpstreamMessage msg;
  for (size_t n = 0; n < kMaxMessages && NextMessage(in, &msg); ++n) {
    const bool was_started = receiver.started();
    const bool starts = !was_started && msg.has_start() && !msg.has_reset();
    const uint64_t start_head = msg.start().head_version();
    const uint64_t changes = msg.changes_size();
    const uint64_t before = model->applied_version();
    const std::string digest = model->Digest();
    absl::Status s = receiver.Handle(&msg);
    clock.AdvanceMicros(1000);
    CheckFreshness(freshness, &clock);
    KV_FUZZ_CHECK(s.ok() || Refusal(s)) << s;
    if (!s.ok()) {
      // Starting over may have dropped the old content before the batch was refused; anything
      // else refused changes nothing.
      if (!starts) {
        KV_FUZZ_CHECK(model->applied_version() == before && model->Digest() == digest);
      }
      return;  // the Subscriber ends this stream
    }
    if (starts) {
      KV_FUZZ_CHECK(model->applied_version() == start_head + changes)
          << "started at " << start_head << " with " << changes << " changes, applied "
          << model->applied_version();
      KV_FUZZ_CHECK(model->applied_version() >= start_head) << "the version wrapped around";
    } else {
      KV_FUZZ_CHECK(model->applied_version() >= before)
          << "applied went back from " << before << " to " << model->applied_version();
      KV_FUZZ_CHECK(model->applied_version() == before + changes);
    }
  }
}

}  // namespace

int FuzzStreamReceiver(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.U8();
  ModelApplier model;
  {
    kvstore::v1::SnapshotChunk seed = SeedSnapshot();
    absl::Status s = model.BeginSnapshot();
    if (s.ok()) s = model.ApplySnapshotChunk(seed);
    if (s.ok()) s = model.FinishSnapshot(seed.version(), seed.cluster_id());
    KV_FUZZ_CHECK(s.ok()) << s;
  }
  if ((flags & 1) != 0) {
    RunFromHead(&in, &model);
    return 0;
  }

  StreamHarness& harness = StreamHarness::Get();
  // The keys the previous input left in the store (the model holds the same).
  static std::vector<std::string> left_keys;
  harness.Reset(left_keys);
  server::VersionedStore* store = harness.store();
  server::FullEdgeApplier* edge = harness.applier();
  ManualClock clock;
  FreshnessTracker store_freshness(&clock), model_freshness(&clock);
  uint64_t store_last = store->head_version(), model_last = model.applied_version();
  auto store_rx = Resubscribe(edge, &store_freshness, &store_last);
  auto model_rx = Resubscribe(&model, &model_freshness, &model_last);
  std::string digest = StoreDigest(store);
  KV_FUZZ_CHECK(digest == model.Digest()) << "the seed snapshots differ:\n"
                                          << digest << "--- model:\n"
                                          << model.Digest();

  UpstreamMessage msg;
  for (size_t n = 0; n < kMaxMessages && NextMessage(&in, &msg); ++n) {
    UpstreamMessage copy = msg;
    std::vector<Change> sent(msg.changes().begin(), msg.changes().end());
    const uint64_t head = store->head_version();
    absl::Status s = store_rx->Handle(&msg);
    absl::Status m = model_rx->Handle(&copy);
    clock.AdvanceMicros(1000 + (n % 7) * 10'000);

    KV_FUZZ_CHECK(s.code() == m.code()) << "store: " << s << ", model: " << m;
    KV_FUZZ_CHECK(s.ok() || Refusal(s)) << "the applier failed: " << s;
    const uint64_t now_head = store->head_version();
    KV_FUZZ_CHECK(now_head >= head) << "applied went back from " << head << " to " << now_head;
    KV_FUZZ_CHECK(now_head == edge->applied_version() && now_head == model.applied_version() &&
                  now_head == store->log().newest() && now_head == harness.publisher()->head())
        << "head " << now_head << ", model " << model.applied_version() << ", log newest "
        << store->log().newest() << ", publisher " << harness.publisher()->head();
    std::string now_digest = StoreDigest(store);
    KV_FUZZ_CHECK(now_digest == model.Digest()) << "store and model differ:\n"
                                                << now_digest << "--- model:\n"
                                                << model.Digest();
    if (!s.ok() || sent.empty()) {
      KV_FUZZ_CHECK(now_head == head && now_digest == digest)
          << (s.ok() ? "a message without changes" : "a refused message") << " changed the store";
    } else {
      CheckAcceptedBatch(store, head, sent);
    }
    CheckFreshness(store_freshness, &clock);
    digest = std::move(now_digest);

    if (!s.ok()) {
      if (s.code() == absl::StatusCode::kAborted) {
        ReinstallSnapshot(&harness, &model);
        digest = StoreDigest(store);
        KV_FUZZ_CHECK(digest == model.Digest()) << "snapshot install differs from the model";
        KV_FUZZ_CHECK(store->head_version() == now_head);
      }
      store_rx = Resubscribe(edge, &store_freshness, &store_last);
      model_rx = Resubscribe(&model, &model_freshness, &model_last);
    }
  }
  left_keys.clear();
  for (const auto& [key, record] : model.records()) left_keys.push_back(key);
  return 0;
}

}  // namespace kv::fuzz
