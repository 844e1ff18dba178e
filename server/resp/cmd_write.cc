// Write commands: SET and DEL, through Node::Put and Node::Delete (an edge forwards them to the
// central node); each answers after the central node's durable commit.
//
// SET's conditions map onto the store's conditional writes (PutRequest.if_version):
//  - NX alone: one Put with if_version = 0 (must not exist); FAILED_PRECONDITION -> nil.
//  - XX, GET and KEEPTTL read the key first, at the central node (consistency strong), then
//    write conditionally on the version read (0 when absent). So the answer is atomic: the old
//    value GET returns is exactly the one replaced, XX writes only over an existing key, KEEPTTL
//    keeps the expiration of the value it replaced. If another writer changes the key in
//    between, the conditional Put fails and SET reads and tries once more; a second loss answers
//    -TRYAGAIN and nothing was written by this SET.

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/resp/errors.h"
#include "server/resp/fanout.h"
#include "server/resp/handlers.h"
#include "server/resp/node_call.h"
#include "server/resp/set_args.h"

namespace kv::server::resp {
namespace {

// DEL's deletions in flight at once.
constexpr size_t kDeleteWindow = 8;

struct SetCall {
  Node* node = nullptr;
  SetArgs args;
  bool has_token = false;
  int attempt = 0;
  CallContext context;
  kvstore::v1::GetRequest get;
  kvstore::v1::GetResponse current;
  kvstore::v1::PutRequest put;
  kvstore::v1::PutResponse written;
  Reply reply;
};

void ReadCurrent(std::unique_ptr<SetCall> call);

// The old value for SET ... GET (nil when the key was absent).
void ReplyOld(SetCall& call, ReplyWriter& w) {
  if (call.current.found()) {
    w.BulkOwned(std::move(*call.current.mutable_entry()->mutable_value()));
  } else {
    w.Null();
  }
}

void OnPut(std::unique_ptr<SetCall> call, const absl::Status& status) {
  ReplyWriter w = call->reply.w();
  if (status.ok()) {
    call->reply.set_write_version(call->written.version());
    if (call->args.get) {
      ReplyOld(*call, w);
    } else {
      w.Ok();
    }
  } else if (status.code() == absl::StatusCode::kFailedPrecondition) {
    if (!call->args.ReadsFirst()) {
      w.Null();  // NX: the key exists
    } else if (call->attempt == 0) {
      call->attempt = 1;  // another writer moved the key between our read and write
      call->current.Clear();
      return ReadCurrent(std::move(call));
    } else {
      w.Error(
          "TRYAGAIN SET lost twice to concurrent writes of this key between reading and "
          "writing it (GET/XX/KEEPTTL); nothing was written");
    }
  } else {
    w.Error(ErrorForStatus(status, CallKind::kWrite, call->has_token));
  }
  call->reply.Send();
}

void Write(std::unique_ptr<SetCall> call) {
  SetCall* c = call.get();
  c->node->Put(c->put, &c->written, c->context,
               [call = std::move(call)](absl::Status s) mutable { OnPut(std::move(call), s); });
}

void OnCurrent(std::unique_ptr<SetCall> call, const absl::Status& status) {
  if (!status.ok()) {
    call->reply.w().Error(ErrorForStatus(status, CallKind::kWrite, call->has_token));
    return call->reply.Send();
  }
  const bool found = call->current.found();
  const SetArgs& args = call->args;
  if ((args.condition == SetArgs::Condition::kNotExists && found) ||
      (args.condition == SetArgs::Condition::kExists && !found)) {
    ReplyWriter w = call->reply.w();
    if (args.get) {
      ReplyOld(*call, w);  // NX GET on an existing key answers its value and writes nothing
    } else {
      w.Null();
    }
    return call->reply.Send();
  }
  call->put.set_if_version(found ? call->current.entry().version() : 0);
  if (args.keep_ttl) {
    call->put.set_ttl_seconds(0);
    call->put.set_expiration(found ? call->current.entry().expiration() : 0);
  }
  Write(std::move(call));
}

void ReadCurrent(std::unique_ptr<SetCall> call) {
  SetCall* c = call.get();
  c->node->Get(c->get, &c->current, c->context,
               [call = std::move(call)](absl::Status s) mutable { OnCurrent(std::move(call), s); });
}

// DEL key [key ...]: one Delete per key; answers how many existed.
class DeleteKeys final : public Fanout {
 public:
  DeleteKeys(Invocation& call, CallContext context, std::vector<std::string> keys)
      : Fanout(keys.size(), kDeleteWindow),
        node_(call.server.node),
        has_token_(!call.connection.auth_token.empty()),
        keys_(std::move(keys)),
        context_(std::move(context)),
        reply_(std::move(call.reply)) {}

 private:
  struct One {
    kvstore::v1::DeleteRequest request;
    kvstore::v1::DeleteResponse response;
  };

  void Issue(size_t index, Done done) override {
    auto one = std::make_unique<One>();
    one->request.set_key(std::move(keys_[index]));
    One* o = one.get();
    node_->Delete(o->request, &o->response, context_,
                  [this, one = std::move(one), done = std::move(done)](absl::Status s) mutable {
                    if (s.ok() && one->response.deleted()) {
                      deleted_.fetch_add(1, std::memory_order_relaxed);
                      uint64_t seen = version_.load(std::memory_order_relaxed);
                      const uint64_t v = one->response.version();
                      while (v > seen && !version_.compare_exchange_weak(seen, v)) {
                      }
                    }
                    one.reset();
                    std::move(done)(std::move(s));
                  });
  }

  void Finish(absl::Status status) override {
    // Deletions that happened count for read-your-writes even if another one failed.
    reply_.set_write_version(version_.load());
    if (status.ok()) {
      reply_.w().Integer(deleted_.load());
    } else {
      reply_.w().Error(ErrorForStatus(status, CallKind::kWrite, has_token_));
    }
    reply_.Send();
  }

  Node* const node_;
  const bool has_token_;
  std::vector<std::string> keys_;  // moved into the requests as they are issued
  CallContext context_;
  Reply reply_;
  std::atomic<int64_t> deleted_{0};
  std::atomic<uint64_t> version_{0};
};

}  // namespace

void CmdSet(Invocation& call) {
  const Limits& limits = call.server.options.limits;
  const absl::string_view key = call.args[1];
  const absl::string_view value = call.args[2];
  auto set = std::make_unique<SetCall>();
  if (auto error = ParseSetArgs(call.args.subspan(3), &set->args)) {
    return call.reply.w().Error(*error);
  }
  if (auto error = CheckKey(limits, key)) return call.reply.w().Error(*error);
  if (auto error = CheckValue(limits, value)) return call.reply.w().Error(*error);
  set->node = call.server.node;
  set->has_token = !call.connection.auth_token.empty();
  if (absl::Status s = PrepareContext(call, &set->context); !s.ok()) {
    return call.reply.w().Error(ErrorForStatus(s, CallKind::kWrite, set->has_token));
  }
  set->put.set_key(key.data(), key.size());
  set->put.set_value(value.data(), value.size());
  set->put.set_ttl_seconds(set->args.ttl_seconds);
  set->put.set_expiration(set->args.expiration);
  set->reply = std::move(call.reply);
  if (!set->args.ReadsFirst()) {
    if (set->args.condition == SetArgs::Condition::kNotExists) set->put.set_if_version(0);
    return Write(std::move(set));
  }
  set->get.set_key(key.data(), key.size());
  set->get.mutable_options()->set_consistency(kvstore::v1::CONSISTENCY_STRONG);
  ReadCurrent(std::move(set));
}

void CmdDel(Invocation& call) {
  std::vector<std::string> keys;
  keys.reserve(call.args.size() - 1);
  for (size_t i = 1; i < call.args.size(); ++i) {
    if (auto error = CheckKey(call.server.options.limits, call.args[i])) {
      return call.reply.w().Error(*error);
    }
    keys.emplace_back(call.args[i]);
  }
  CallContext context;
  if (absl::Status s = PrepareContext(call, &context); !s.ok()) {
    return call.reply.w().Error(
        ErrorForStatus(s, CallKind::kWrite, !call.connection.auth_token.empty()));
  }
  Fanout::Run(std::make_unique<DeleteKeys>(call, std::move(context), std::move(keys)));
}

}  // namespace kv::server::resp
