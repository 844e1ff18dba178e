// Read commands: GET, TTL, PTTL (Node::Get) and MGET, EXISTS (Node::BatchGet: one call when the
// keys fit in the node's batch limit, else chunks of it, a few chunks at a time). Every read
// carries the connection's read options (KV.READOPTS, read-your-writes), so the staleness bound,
// min_version waits, cache read-through and forwarding all apply as for gRPC and HTTP reads.
// GET, and MGET and EXISTS of one batch, first ask the node for a shared answer (a cache edge's
// hits, Node::TryGetShared): the reply is then written straight from the cached values, with no
// request or response message; otherwise the ordinary call follows.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/arena.h"
#include "server/resp/call_context.h"
#include "server/resp/errors.h"
#include "server/resp/fanout.h"
#include "server/resp/handlers.h"
#include "server/resp/node_call.h"
#include "server/resp/reply_buffer.h"
#include "server/resp/thread_pool_of.h"

namespace kv::server::resp {

void MergeReadInfo(const kvstore::v1::ReadInfo& next, bool first, kvstore::v1::ReadInfo* merged) {
  if (first) {
    *merged = next;
    return;
  }
  if (next.staleness_micros() > merged->staleness_micros()) {
    merged->set_staleness_micros(next.staleness_micros());
  }
  if (next.as_of_version() < merged->as_of_version()) {
    merged->set_as_of_version(next.as_of_version());
  }
  if (next.stale()) merged->set_stale(true);
}

namespace {

// BatchGet chunks of one MGET or EXISTS in flight at once.
constexpr size_t kChunkWindow = 4;

enum class GetMode { kValue, kTtlSeconds, kTtlMillis };

// One GET, TTL or PTTL at the node; pooled (thread_pool_of.h).
struct GetCall {
  void Reset() {
    // Clear() would delete the submessages (proto3), so every GET would allocate them and their
    // strings again; cleared in place they keep their capacity. Their presence means nothing
    // here: FillReadOptions always sets the options, and the answer is `found` and the fields
    // the node sets.
    request.clear_key();
    if (request.has_options()) request.mutable_options()->Clear();
    if (response.has_entry()) response.mutable_entry()->Clear();
    if (response.has_info()) response.mutable_info()->Clear();
    response.set_found(false);
    ResetCallContext(&context);
    reply.Recycle();  // keeps its buffer's memory for the next GET of this thread
    shared = SharedRead();
    mode = GetMode::kValue;
    has_token = false;
  }

  kvstore::v1::GetRequest request;
  kvstore::v1::GetResponse response;
  CallContext context;
  Reply reply;
  SharedRead shared;  // a GET the node answered at once (TryGetShared)
  GetMode mode = GetMode::kValue;
  bool has_token = false;
};

// TTL/PTTL's answer: -2 absent, -1 no expiration, else the time left, rounded down. The store
// keeps whole seconds rounded up (a key lives at least its TTL), so rounding down makes
// SET ... EX 100 read back as TTL 100, as in Redis; PTTL shows the extra fraction.
int64_t TimeLeft(const kvstore::v1::GetResponse& response, GetMode mode) {
  if (!response.found()) return -2;
  const int64_t expiration = response.entry().expiration();
  if (expiration == 0) return -1;
  const int64_t left_micros = expiration * 1'000'000 - absl::ToUnixMicros(absl::Now());
  if (left_micros <= 0) return -2;  // expired while the answer travelled
  if (mode == GetMode::kTtlMillis) return left_micros / 1000;
  return left_micros / 1'000'000;
}

void FinishGet(GetCall& call, const absl::Status& status) {
  ReplyWriter w = call.reply.w();
  if (!status.ok()) {
    w.Error(ErrorForStatus(status, CallKind::kRead, call.has_token));
  } else {
    call.reply.set_read_info(call.response.info());
    if (call.mode != GetMode::kValue) {
      w.Integer(TimeLeft(call.response, call.mode));
    } else if (!call.response.found()) {
      w.Null();
    } else if (const std::string& value = call.response.entry().value();
               value.size() < ReplyBuffer::kOwnSegmentBytes) {
      w.Bulk(value);  // copied into the reply anyway; the pooled string keeps its capacity
    } else {
      w.BulkOwned(std::move(*call.response.mutable_entry()->mutable_value()));
    }
  }
  call.reply.Send();
}

// A shared value as a bulk string (or a null). Large values get a segment of their own, so a
// pooled reply does not keep their memory.
void WriteShared(const SharedValue& value, ReplyWriter& w) {
  if (!value.found) return w.Null();
  if (value.value.size() < ReplyBuffer::kOwnSegmentBytes) return w.Bulk(value.value);
  w.BulkOwned(std::string(value.value));
}

// A GET the node answers at once from memory: the reply is written straight from the shared
// value, which is released as soon as its bytes are in the reply. False: make the ordinary Get.
bool AnswerShared(Node* node, absl::string_view key, GetCall& get) {
  if (!node->TryGetShared(key, get.request.options(), get.context, &get.shared)) return false;
  ReplyWriter w = get.reply.w();
  WriteShared(get.shared.value, w);
  get.shared.value.holder.reset();
  get.reply.set_read_info(get.shared.info);
  get.reply.Send();
  return true;
}

void StartGet(Invocation& call, GetMode mode) {
  const absl::string_view key = call.args[1];
  if (auto error = CheckKey(call.server.options.limits, key)) return call.reply.w().Error(*error);
  PoolPtr<GetCall> get = TakeFromPool<GetCall>();
  FillReadOptions(call.connection, get->request.mutable_options());
  get->has_token = !call.connection.auth_token.empty();
  if (absl::Status s = PrepareContext(call, &get->context); !s.ok()) {
    return call.reply.w().Error(ErrorForStatus(s, CallKind::kRead, get->has_token));
  }
  get->reply.Adopt(std::move(call.reply));
  if (mode == GetMode::kValue && AnswerShared(call.server.node, key, *get)) return;
  get->request.set_key(key.data(), key.size());
  get->mode = mode;
  GetCall* g = get.get();
  call.server.node->Get(g->request, &g->response, g->context,
                        [get = std::move(get)](absl::Status s) mutable { FinishGet(*get, s); });
}

bool Found(const kvstore::v1::BatchGetResponse::Result& r) { return r.found(); }
bool Found(const SharedValue& v) { return v.found; }

// The bytes MGET's reply takes for `response`'s values, without the array header: what the
// connection's output limit is checked against before anything is written.
// `results` are a response's results or shared values; `value_of` gives a found one's bytes.
template <typename Results, typename ValueOf>
size_t ValuesReplyBytes(const Results& results, int protocol, ValueOf value_of) {
  const size_t null_bytes = protocol >= 3 ? 3 : 5;  // "_\r\n" or "$-1\r\n"
  size_t bytes = 0;
  for (const auto& r : results) {
    if (!Found(r)) {
      bytes += null_bytes;
      continue;
    }
    const size_t size = value_of(r).size();
    char digits[32];
    const size_t length_bytes =
        absl::numbers_internal::FastIntToBuffer(static_cast<uint64_t>(size), digits) - digits;
    bytes += 1 + length_bytes + 2 + size + 2;  // "$<length>\r\n<value>\r\n"
  }
  return bytes;
}
size_t ValuesReplyBytes(const kvstore::v1::BatchGetResponse& response, int protocol) {
  return ValuesReplyBytes(response.results(), protocol,
                          [](const kvstore::v1::BatchGetResponse::Result& r) -> absl::string_view {
                            return r.entry().value();
                          });
}
size_t ValuesReplyBytes(const std::vector<SharedValue>& values, int protocol) {
  return ValuesReplyBytes(values, protocol, [](const SharedValue& v) { return v.value; });
}

// EXISTS: how many of the keys were found.
template <typename Results>
int64_t CountFound(const Results& results) {
  int64_t found = 0;
  for (const auto& r : results) found += Found(r) ? 1 : 0;
  return found;
}

// MGET: each result's value (moved out) or a null, in order.
void WriteValues(kvstore::v1::BatchGetResponse* response, ReplyWriter& w) {
  for (auto& r : *response->mutable_results()) {
    if (r.found()) {
      w.BulkOwned(std::move(*r.mutable_entry()->mutable_value()));
    } else {
      w.Null();
    }
  }
}

std::string ReplyTooLarge(size_t bytes, size_t max_bytes) {
  return absl::StrCat("ERR MGET reply of ", bytes,
                      " bytes is larger than this connection's output limit of ", max_bytes,
                      " bytes; ask for fewer keys");
}

// An MGET or EXISTS whose keys fit in one BatchGet (the common case): one node call, and the
// reply written straight from its response (values moved, no merging); pooled
// (thread_pool_of.h), so the request's keys and the reply keep their memory across commands.
// The response lives on an arena whose first block is part of this object: its results, entries
// and string objects (several allocations per key on the heap) cost none for a few dozen keys;
// the bytes of keys and values over 15 still do.
struct BatchCall {
  BatchCall() : arena(ArenaOptions(initial_block, sizeof(initial_block))) { NewResponse(); }

  void Reset() {
    request.Clear();
    arena.Reset();  // frees the response and any blocks past the first
    NewResponse();
    ResetCallContext(&context);
    reply.Recycle();
    shared.Clear();
    max_reply_bytes = 0;
    exists = false;
    has_token = false;
  }

  static google::protobuf::ArenaOptions ArenaOptions(char* block, size_t size) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = size;
    return options;
  }
  void NewResponse() {
    response = google::protobuf::Arena::CreateMessage<kvstore::v1::BatchGetResponse>(&arena);
  }

  alignas(8) char initial_block[4096];  // before `arena`, which is built on it
  google::protobuf::Arena arena;
  kvstore::v1::BatchGetRequest request;
  kvstore::v1::BatchGetResponse* response = nullptr;  // on `arena`
  CallContext context;
  Reply reply;
  SharedBatchRead shared;  // a batch the node answered at once (TryBatchGetShared)
  size_t max_reply_bytes = 0;
  bool exists = false;
  bool has_token = false;
};

void FinishBatchCall(BatchCall& call, const absl::Status& status) {
  ReplyWriter w = call.reply.w();
  if (!status.ok()) {
    w.Error(ErrorForStatus(status, CallKind::kRead, call.has_token));
    return call.reply.Send();
  }
  call.reply.set_read_info(call.response->info());
  if (call.exists) {
    w.Integer(CountFound(call.response->results()));
    return call.reply.Send();
  }
  if (const size_t bytes = ValuesReplyBytes(*call.response, call.reply.protocol());
      bytes > call.max_reply_bytes) {
    w.Error(ReplyTooLarge(bytes, call.max_reply_bytes));
    return call.reply.Send();
  }
  w.ArrayHeader(call.response->results_size());
  WriteValues(call.response, w);
  call.reply.Send();
}

// MGET or EXISTS answered by the node at once from memory: the reply is written straight from
// the shared values, which are released once their bytes are in it. False: make the BatchGet.
bool AnswerBatchShared(Node* node, absl::Span<const absl::string_view> keys, BatchCall& batch) {
  if (!node->TryBatchGetShared(keys, batch.request.options(), batch.context, &batch.shared)) {
    batch.shared.Clear();
    return false;
  }
  const std::vector<SharedValue>& values = batch.shared.values;
  ReplyWriter w = batch.reply.w();
  if (batch.exists) {
    w.Integer(CountFound(values));
  } else if (const size_t bytes = ValuesReplyBytes(values, batch.reply.protocol());
             bytes > batch.max_reply_bytes) {
    w.Error(ReplyTooLarge(bytes, batch.max_reply_bytes));
  } else {
    w.ArrayHeader(values.size());
    for (const SharedValue& value : values) WriteShared(value, w);
  }
  batch.shared.Clear();
  batch.reply.set_read_info(batch.shared.info);
  batch.reply.Send();
  return true;
}

// Keys checked and the context prepared by the caller.
void StartBatchCall(Invocation& call, CallContext&& context, bool exists) {
  PoolPtr<BatchCall> batch = TakeFromPool<BatchCall>();
  FillReadOptions(call.connection, batch->request.mutable_options());
  batch->context = std::move(context);
  batch->has_token = !call.connection.auth_token.empty();
  batch->exists = exists;
  batch->max_reply_bytes = call.server.options.max_output_bytes;
  batch->reply.Adopt(std::move(call.reply));
  if (AnswerBatchShared(call.server.node, call.args.subspan(1), *batch)) return;
  for (size_t i = 1; i < call.args.size(); ++i) {
    batch->request.add_keys()->assign(call.args[i].data(), call.args[i].size());
  }
  BatchCall* b = batch.get();
  call.server.node->BatchGet(
      b->request, b->response, b->context,
      [batch = std::move(batch)](absl::Status s) mutable { FinishBatchCall(*batch, s); });
}

// MGET (values) or EXISTS (a count) over BatchGet chunks: more keys than one BatchGet takes.
class BatchRead final : public Fanout {
 public:
  BatchRead(Invocation& call, CallContext context, bool exists, std::vector<std::string> keys,
            size_t chunk_keys)
      : Fanout((keys.size() + chunk_keys - 1) / chunk_keys, kChunkWindow),
        node_(call.server.node),
        max_reply_bytes_(call.server.options.max_output_bytes),
        exists_(exists),
        has_token_(!call.connection.auth_token.empty()),
        chunk_keys_(chunk_keys),
        keys_(std::move(keys)),
        context_(std::move(context)),
        reply_(std::move(call.reply)) {
    FillReadOptions(call.connection, &options_);
    if (!exists_) parts_.resize((keys_.size() + chunk_keys - 1) / chunk_keys);
  }

 private:
  struct Chunk {
    kvstore::v1::BatchGetRequest request;
    kvstore::v1::BatchGetResponse response;
  };

  void Issue(size_t index, Done done) override {
    auto chunk = std::make_unique<Chunk>();
    const size_t begin = index * chunk_keys_;
    const size_t end = std::min(keys_.size(), begin + chunk_keys_);
    for (size_t i = begin; i < end; ++i) chunk->request.add_keys(std::move(keys_[i]));
    *chunk->request.mutable_options() = options_;
    Chunk* c = chunk.get();
    node_->BatchGet(
        c->request, &c->response, context_,
        [this, index, chunk = std::move(chunk), done = std::move(done)](absl::Status s) mutable {
          if (s.ok()) Collect(index, chunk->response);
          chunk.reset();
          std::move(done)(std::move(s));
        });
  }

  // Runs on the thread the chunk completed on; chunks touch only their own part.
  void Collect(size_t index, kvstore::v1::BatchGetResponse& response) {
    {
      absl::MutexLock lock(&info_mu_);
      MergeReadInfo(response.info(), !has_info_, &info_);
      has_info_ = true;
    }
    if (exists_) {
      found_.fetch_add(CountFound(response.results()), std::memory_order_relaxed);
      return;
    }
    ReplyWriter w(&parts_[index], reply_.protocol());
    WriteValues(&response, w);
  }

  void Finish(absl::Status status) override {
    ReplyWriter w = reply_.w();
    if (!status.ok()) {
      w.Error(ErrorForStatus(status, CallKind::kRead, has_token_));
    } else if (exists_) {
      w.Integer(found_.load(std::memory_order_relaxed));
    } else {
      size_t bytes = 0;
      for (const ReplyBuffer& part : parts_) bytes += part.size();
      if (bytes > max_reply_bytes_) {
        w.Error(ReplyTooLarge(bytes, max_reply_bytes_));
      } else {
        w.ArrayHeader(keys_.size());
        for (ReplyBuffer& part : parts_) reply_.buffer().Append(std::move(part));
      }
    }
    {
      absl::MutexLock lock(&info_mu_);
      if (status.ok() && has_info_) reply_.set_read_info(info_);
    }
    reply_.Send();
  }

  Node* const node_;
  const size_t max_reply_bytes_;
  const bool exists_;
  const bool has_token_;
  const size_t chunk_keys_;
  std::vector<std::string> keys_;  // moved into the requests as chunks are issued
  kvstore::v1::ReadOptions options_;
  CallContext context_;
  Reply reply_;
  std::vector<ReplyBuffer> parts_;  // MGET: the encoded values of each chunk
  std::atomic<int64_t> found_{0};   // EXISTS
  absl::Mutex info_mu_;
  bool has_info_ ABSL_GUARDED_BY(info_mu_) = false;
  kvstore::v1::ReadInfo info_ ABSL_GUARDED_BY(info_mu_);
};

void StartBatchRead(Invocation& call, bool exists) {
  const Limits& limits = call.server.options.limits;
  for (size_t i = 1; i < call.args.size(); ++i) {
    if (auto error = CheckKey(limits, call.args[i])) return call.reply.w().Error(*error);
  }
  CallContext context;
  if (absl::Status s = PrepareContext(call, &context); !s.ok()) {
    return call.reply.w().Error(
        ErrorForStatus(s, CallKind::kRead, !call.connection.auth_token.empty()));
  }
  const size_t chunk = std::max<uint64_t>(1, limits.max_batch_keys);
  if (call.args.size() - 1 <= chunk) return StartBatchCall(call, std::move(context), exists);
  std::vector<std::string> keys(call.args.begin() + 1, call.args.end());
  Fanout::Run(
      std::make_unique<BatchRead>(call, std::move(context), exists, std::move(keys), chunk));
}

}  // namespace

void CmdGet(Invocation& call) { StartGet(call, GetMode::kValue); }
void CmdTtl(Invocation& call) { StartGet(call, GetMode::kTtlSeconds); }
void CmdPttl(Invocation& call) { StartGet(call, GetMode::kTtlMillis); }
void CmdMget(Invocation& call) { StartBatchRead(call, /*exists=*/false); }
void CmdExists(Invocation& call) { StartBatchRead(call, /*exists=*/true); }

}  // namespace kv::server::resp
