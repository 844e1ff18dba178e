#include "server/kv_service.h"

#include <chrono>

#include "absl/time/clock.h"
#include "common/log.h"

namespace kv::server {
namespace {

// One read call on a completion queue: waiting for a request, running, or finished. The queue
// hands the tag back at each step; the call deletes itself when it is finished or cancelled.
class ReadCall {
 public:
  virtual ~ReadCall() = default;
  virtual void Proceed(bool ok) = 0;
};

// Request/Response/Method tie one unary method's async plumbing to the node's handler.
template <typename Request, typename Response>
class UnaryReadCall final : public ReadCall {
 public:
  using RequestFn = void (KvServiceBase::*)(grpc::ServerContext*, Request*,
                                            grpc::ServerAsyncResponseWriter<Response>*,
                                            grpc::CompletionQueue*, grpc::ServerCompletionQueue*,
                                            void*);
  using HandlerFn = void (Node::*)(const Request&, Response*, const CallContext&, Done);

  UnaryReadCall(KvServiceBase* service, grpc::ServerCompletionQueue* cq, Node* node,
                CallTracker* tracker, std::atomic<int>* running, Method method,
                RequestFn request_fn, HandlerFn handler)
      : service_(service),
        cq_(cq),
        node_(node),
        tracker_(tracker),
        running_(running),
        method_(method),
        request_fn_(request_fn),
        handler_(handler),
        writer_(&context_) {
    (service_->*request_fn_)(&context_, &request_, &writer_, cq_, cq_, this);
  }

  void Proceed(bool ok) override {
    if (finishing_ || !ok) {  // the answer went out, or the queue is shutting down
      delete this;
      return;
    }
    // The next request of this method is accepted by a fresh call object.
    new UnaryReadCall(service_, cq_, node_, tracker_, running_, method_, request_fn_, handler_);
    if (tracker_ != nullptr && !tracker_->Enter()) {
      finishing_ = true;
      writer_.FinishWithError(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "the node is shutting down"), this);
      return;
    }
    auto started = std::chrono::steady_clock::now();
    running_->fetch_add(1);
    (node_->*handler_)(
        request_, &response_, MakeCallContext(&context_), [this, started](absl::Status status) {
          grpc::Status g = ToGrpcStatus(status);
          CallTracker* tracker = tracker_;
          std::atomic<int>* running = running_;
          Method method = method_;
          finishing_ = true;
          // After Finish the queue may delete this at any moment.
          writer_.Finish(response_, g, this);
          running->fetch_sub(1);
          if (tracker != nullptr) {
            tracker->Exit(method, g.error_code(),
                          absl::FromChrono(std::chrono::steady_clock::now() - started));
          }
        });
  }

 private:
  KvServiceBase* const service_;
  grpc::ServerCompletionQueue* const cq_;
  Node* const node_;
  CallTracker* const tracker_;
  std::atomic<int>* const running_;
  const Method method_;
  const RequestFn request_fn_;
  const HandlerFn handler_;
  grpc::ServerContext context_;
  Request request_;
  Response response_;
  grpc::ServerAsyncResponseWriter<Response> writer_;
  bool finishing_ = false;
};

}  // namespace

KvService::~KvService() { StopReads(); }

void KvService::AddReadQueues(grpc::ServerBuilder* builder, int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    read_queues_.push_back(builder->AddCompletionQueue());
  }
}

void KvService::StartReads() {
  for (auto& cq : read_queues_) {
    // A few requests waiting per queue, so a burst is not serialised on re-arming.
    for (int i = 0; i < 8; ++i) {
      new UnaryReadCall<kvstore::v1::GetRequest, kvstore::v1::GetResponse>(
          this, cq.get(), node_, tracker_, &running_reads_, Method::kGet,
          &KvServiceBase::RequestGet, &Node::Get);
      new UnaryReadCall<kvstore::v1::BatchGetRequest, kvstore::v1::BatchGetResponse>(
          this, cq.get(), node_, tracker_, &running_reads_, Method::kBatchGet,
          &KvServiceBase::RequestBatchGet, &Node::BatchGet);
    }
    read_threads_.emplace_back([this, q = cq.get()] { ServeReads(q); });
  }
}

void KvService::ServeReads(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) static_cast<ReadCall*>(tag)->Proceed(ok);
}

void KvService::StopReads() {
  // A read still running (e.g. forwarded upstream past the shutdown grace) finishes on its
  // queue: the queue must outlive it. Its upstream call has a deadline, so this ends.
  for (int i = 0; running_reads_.load() > 0 && i < 6000; ++i) {
    if (i % 500 == 0) KV_LOG(WARN) << "waiting for " << running_reads_.load() << " reads to finish";
    absl::SleepFor(absl::Milliseconds(10));
  }
  for (auto& cq : read_queues_) cq->Shutdown();
  for (auto& t : read_threads_) t.join();
  read_threads_.clear();
  // Queues never served (the server failed to start) still hold their waiting calls; served
  // ones are empty and return at once.
  for (auto& cq : read_queues_) ServeReads(cq.get());
  read_queues_.clear();
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const kvstore::v1::PutRequest* request,
                                         kvstore::v1::PutResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kPut);
  if (done) node_->Put(*request, response, MakeCallContext(context), std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Delete(grpc::CallbackServerContext* context,
                                            const kvstore::v1::DeleteRequest* request,
                                            kvstore::v1::DeleteResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kDelete);
  if (done) node_->Delete(*request, response, MakeCallContext(context), std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::List(grpc::CallbackServerContext* context,
                                          const kvstore::v1::ListRequest* request,
                                          kvstore::v1::ListResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kList);
  if (done) node_->List(*request, response, MakeCallContext(context), std::move(done));
  return reactor;
}

}  // namespace kv::server
