#include "bench/kvbench/engine.h"

#include <optional>
#include <random>

#include "bench/common/zipf.h"
#include "kvstore/v1/kv.grpc.pb.h"

namespace kv::kvbench {

using kvstore::v1::KV;

// One request at a time: fills its request, starts it, and on completion records and repeats.
// The request and response messages are reused, so steady state allocates little.
class Slot {
 public:
  Slot(LoadEngine* engine, int id, KV::Stub* stub, grpc::CompletionQueue* cq)
      : engine_(engine), id_(id), stub_(stub), cq_(cq), rng_(engine->options_.seed + id) {
    const LoadOptions& o = engine->options_;
    *get_req_.mutable_options() = o.read_options;
    *batch_req_.mutable_options() = o.read_options;
    put_req_.set_value(engine->value_);
    for (int i = 0; i < o.batch_size; ++i) batch_req_.add_keys();
  }

  // Starts the next request, or tells the engine this slot is finished.
  void Issue() {
    if (engine_->stop_.load(std::memory_order_relaxed)) return engine_->SlotFinished();
    if (engine_->preload_) {
      const uint64_t index = engine_->next_preload_.fetch_add(1);
      if (index >= engine_->keys_->size()) return engine_->SlotFinished();
      kind_ = OpKind::kPut;
      engine_->keys_->Format(index, put_req_.mutable_key());
    } else {
      ChooseOp();
    }
    ctx_.emplace();
    ctx_->set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMicroseconds(engine_->options_.connection.timeout));
    engine_->options_.connection.security.Authorize(&*ctx_);
    start_ns_ = NowNanos();
    if (cq_ != nullptr) {
      StartAsync();
    } else {
      StartCallback();
    }
  }

  // The request finished with status_ (CompletionQueue thread or gRPC callback thread).
  void OnComplete() {
    const int64_t end = NowNanos();
    uint64_t keys = 0, not_found = 0;
    if (status_.ok()) {
      if (kind_ == OpKind::kGet) {
        keys = 1;
        not_found = get_resp_.found() ? 0 : 1;
      } else if (kind_ == OpKind::kBatchGet) {
        keys = batch_resp_.results_size();
        for (const auto& r : batch_resp_.results()) not_found += r.found() ? 0 : 1;
      }
    }
    engine_->recorder_->Record(id_, kind_, start_ns_, end, status_, keys, not_found);
    Issue();
  }

 private:
  void ChooseOp() {
    const LoadOptions& o = engine_->options_;
    switch (o.workload) {
      case Workload::kRead:
        kind_ = OpKind::kGet;
        break;
      case Workload::kWrite:
        kind_ = OpKind::kPut;
        break;
      case Workload::kMixed:
        kind_ = bench::Uniform01(rng_) < o.read_ratio ? OpKind::kGet : OpKind::kPut;
        break;
      case Workload::kBatch:
        kind_ = OpKind::kBatchGet;
        break;
    }
    const KeySpace& keys = *engine_->keys_;
    switch (kind_) {
      case OpKind::kGet:
        keys.Format(keys.Choose(rng_), get_req_.mutable_key());
        break;
      case OpKind::kPut:
        keys.Format(keys.Choose(rng_), put_req_.mutable_key());
        break;
      case OpKind::kBatchGet:
        for (auto& key : *batch_req_.mutable_keys()) keys.Format(keys.Choose(rng_), &key);
        break;
    }
  }

  void StartAsync() {
    switch (kind_) {
      case OpKind::kGet:
        get_reader_ = stub_->AsyncGet(&*ctx_, get_req_, cq_);
        get_reader_->Finish(&get_resp_, &status_, this);
        break;
      case OpKind::kPut:
        put_reader_ = stub_->AsyncPut(&*ctx_, put_req_, cq_);
        put_reader_->Finish(&put_resp_, &status_, this);
        break;
      case OpKind::kBatchGet:
        batch_reader_ = stub_->AsyncBatchGet(&*ctx_, batch_req_, cq_);
        batch_reader_->Finish(&batch_resp_, &status_, this);
        break;
    }
  }

  void StartCallback() {
    auto done = [this](grpc::Status status) {
      status_ = std::move(status);
      OnComplete();
    };
    switch (kind_) {
      case OpKind::kGet:
        stub_->async()->Get(&*ctx_, &get_req_, &get_resp_, std::move(done));
        break;
      case OpKind::kPut:
        stub_->async()->Put(&*ctx_, &put_req_, &put_resp_, std::move(done));
        break;
      case OpKind::kBatchGet:
        stub_->async()->BatchGet(&*ctx_, &batch_req_, &batch_resp_, std::move(done));
        break;
    }
  }

  LoadEngine* const engine_;
  const int id_;
  KV::Stub* const stub_;
  grpc::CompletionQueue* const cq_;  // null with the callback API
  std::mt19937_64 rng_;
  OpKind kind_ = OpKind::kGet;
  int64_t start_ns_ = 0;
  std::optional<grpc::ClientContext> ctx_;
  grpc::Status status_;
  kvstore::v1::GetRequest get_req_;
  kvstore::v1::GetResponse get_resp_;
  kvstore::v1::PutRequest put_req_;
  kvstore::v1::PutResponse put_resp_;
  kvstore::v1::BatchGetRequest batch_req_;
  kvstore::v1::BatchGetResponse batch_resp_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<kvstore::v1::GetResponse>> get_reader_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<kvstore::v1::PutResponse>> put_reader_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<kvstore::v1::BatchGetResponse>> batch_reader_;
};

LoadEngine::LoadEngine(const LoadOptions& options, const KeySpace* keys,
                       const Connections* connections, Recorder* recorder, bool preload)
    : options_(options), keys_(keys), preload_(preload), recorder_(recorder) {
  std::mt19937_64 rng(options.seed ^ 0x5eedf00d);
  value_.resize(options.value_size);
  for (char& c : value_) c = static_cast<char>(' ' + rng() % 95);
  const bool use_cq = options.connection.engine == EngineKind::kCompletionQueue;
  if (use_cq) {
    for (int i = 0; i < std::max(1, options.connection.threads); ++i) {
      cqs_.push_back(std::make_unique<grpc::CompletionQueue>());
    }
  }
  const int slots = std::max(1, options.connection.concurrency);
  for (int i = 0; i < slots; ++i) {
    grpc::CompletionQueue* cq = use_cq ? cqs_[i % cqs_.size()].get() : nullptr;
    slots_.push_back(
        std::make_unique<Slot>(this, i, connections->stub(i % connections->size()), cq));
  }
}

LoadEngine::~LoadEngine() {
  if (started_) {
    Stop();
    done_.WaitForNotification();
  }
  for (auto& t : threads_) t.join();
}

void LoadEngine::Start() {
  started_ = true;
  active_.store(static_cast<int>(slots_.size()));
  for (auto& cq : cqs_) {
    threads_.emplace_back([q = cq.get()] {
      void* tag;
      bool ok;
      // Unary Finish always delivers ok = true; the status says how the call went.
      while (q->Next(&tag, &ok)) static_cast<Slot*>(tag)->OnComplete();
    });
  }
  for (auto& slot : slots_) slot->Issue();
}

void LoadEngine::Stop() { stop_.store(true); }

bool LoadEngine::WaitDone(absl::Duration timeout) {
  return done_.WaitForNotificationWithTimeout(timeout);
}

uint64_t LoadEngine::preload_issued() const {
  return std::min<uint64_t>(next_preload_.load(), keys_->size());
}

void LoadEngine::SlotFinished() {
  if (active_.fetch_sub(1) != 1) return;
  // The last slot: nothing is in flight any more, so the queues can drain and close.
  for (auto& cq : cqs_) cq->Shutdown();
  done_.Notify();
}

}  // namespace kv::kvbench
