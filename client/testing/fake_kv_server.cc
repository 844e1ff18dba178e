#include "client/testing/fake_kv_server.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kvstore/v1/admin.grpc.pb.h"
#include "kvstore/v1/kv.grpc.pb.h"

namespace kv::client::testing {

namespace v1 = kvstore::v1;

struct FakeKvServer::State {
  struct Injection {
    int fail_count = 0;
    grpc::StatusCode code = grpc::StatusCode::OK;
    std::string message;
    int delay_count = 0;
    absl::Duration delay;
    int after_apply_count = 0;
    grpc::StatusCode after_apply_code = grpc::StatusCode::OK;
    std::string after_apply_message;
    absl::Duration after_apply_delay;
  };

  absl::Mutex mu;
  std::map<std::string, v1::Entry> data ABSL_GUARDED_BY(mu);
  uint64_t version ABSL_GUARDED_BY(mu) = 0;
  uint64_t as_of_override ABSL_GUARDED_BY(mu) = 0;
  Injection injections[static_cast<int>(Method::kCount)] ABSL_GUARDED_BY(mu);
  int calls[static_cast<int>(Method::kCount)] ABSL_GUARDED_BY(mu) = {};
  std::vector<uint64_t> min_versions ABSL_GUARDED_BY(mu);
  v1::ReadOptions last_read_options ABSL_GUARDED_BY(mu);
  std::vector<std::string> authorizations ABSL_GUARDED_BY(mu);
  absl::Duration put_delay ABSL_GUARDED_BY(mu);
  int concurrent_puts ABSL_GUARDED_BY(mu) = 0;
  int max_concurrent_puts ABSL_GUARDED_BY(mu) = 0;
  v1::StatusResponse status ABSL_GUARDED_BY(mu);
  std::string node_id;

  // Counts the call, applies an injected delay, and returns an injected failure if any.
  grpc::Status Enter(Method m, grpc::ServerContext* ctx) {
    absl::Duration delay;
    grpc::Status result = grpc::Status::OK;
    {
      absl::MutexLock l(&mu);
      Injection& in = injections[static_cast<int>(m)];
      ++calls[static_cast<int>(m)];
      const auto& metadata = ctx->client_metadata();
      auto auth = metadata.find("authorization");
      authorizations.emplace_back(
          auth == metadata.end() ? "" : std::string(auth->second.data(), auth->second.size()));
      if (in.delay_count != 0) {
        delay = in.delay;
        if (in.delay_count > 0) --in.delay_count;
      }
      if (in.fail_count != 0) {
        result = grpc::Status(in.code, in.message);
        if (in.fail_count > 0) --in.fail_count;
      }
    }
    Sleep(delay, ctx);
    return result;
  }

  // After a write was applied: the injected failure (and its delay) if one is due, else OK.
  grpc::Status AfterApply(Method m, grpc::ServerContext* ctx) {
    absl::Duration delay;
    grpc::Status result = grpc::Status::OK;
    {
      absl::MutexLock l(&mu);
      Injection& in = injections[static_cast<int>(m)];
      if (in.after_apply_count == 0) return result;
      if (in.after_apply_count > 0) --in.after_apply_count;
      delay = in.after_apply_delay;
      result = grpc::Status(in.after_apply_code, in.after_apply_message);
    }
    Sleep(delay, ctx);
    return result;
  }

  // Sleeps in slices so a cancelled or timed-out call stops early.
  static void Sleep(absl::Duration d, grpc::ServerContext* ctx) {
    const absl::Time end = absl::Now() + d;
    while (absl::Now() < end && !ctx->IsCancelled()) {
      absl::SleepFor(std::min(absl::Milliseconds(5), end - absl::Now()));
    }
  }

  void RecordRead(const v1::ReadOptions& o) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    min_versions.push_back(o.min_version());
    last_read_options = o;
  }

  void FillInfo(v1::ReadInfo* info) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    info->set_as_of_version(as_of_override != 0 ? as_of_override : version);
    info->set_node_id(node_id);
    info->set_source(v1::SOURCE_CENTRAL);
    info->set_staleness_micros(0);
  }

  // Current version of a key, 0 when absent.
  uint64_t VersionOf(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = data.find(key);
    return it == data.end() ? 0 : it->second.version();
  }
};

class FakeKvServer::KvService final : public v1::KV::Service {
 public:
  explicit KvService(State* s) : s_(s) {}

  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetRequest* req,
                   v1::GetResponse* resp) override {
    if (auto st = s_->Enter(Method::kGet, ctx); !st.ok()) return st;
    absl::MutexLock l(&s_->mu);
    s_->RecordRead(req->options());
    auto it = s_->data.find(req->key());
    resp->set_found(it != s_->data.end());
    if (resp->found()) *resp->mutable_entry() = it->second;
    s_->FillInfo(resp->mutable_info());
    return grpc::Status::OK;
  }

  grpc::Status BatchGet(grpc::ServerContext* ctx, const v1::BatchGetRequest* req,
                        v1::BatchGetResponse* resp) override {
    if (auto st = s_->Enter(Method::kBatchGet, ctx); !st.ok()) return st;
    if (req->keys_size() < 1 || req->keys_size() > 100) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "keys: 1..100");
    }
    absl::MutexLock l(&s_->mu);
    s_->RecordRead(req->options());
    for (const std::string& k : req->keys()) {
      auto* r = resp->add_results();
      auto it = s_->data.find(k);
      r->set_found(it != s_->data.end());
      if (r->found()) *r->mutable_entry() = it->second;
      r->set_source(v1::SOURCE_CENTRAL);
    }
    s_->FillInfo(resp->mutable_info());
    return grpc::Status::OK;
  }

  grpc::Status Put(grpc::ServerContext* ctx, const v1::PutRequest* req,
                   v1::PutResponse* resp) override {
    if (auto st = s_->Enter(Method::kPut, ctx); !st.ok()) return st;
    absl::Duration delay;
    {
      absl::MutexLock l(&s_->mu);
      delay = s_->put_delay;
      s_->max_concurrent_puts = std::max(s_->max_concurrent_puts, ++s_->concurrent_puts);
    }
    State::Sleep(delay, ctx);
    absl::ReleasableMutexLock l(&s_->mu);
    --s_->concurrent_puts;
    if (req->key().empty() || req->key().size() > 512) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "key: must be 1..512 bytes");
    }
    if (req->ttl_seconds() != 0 && req->expiration() != 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "ttl_seconds and expiration");
    }
    const uint64_t current = s_->VersionOf(req->key());
    if (req->has_if_version() && req->if_version() != current) {
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("if_version: key is at version ", current, ", not ", req->if_version()));
    }
    v1::Entry e;
    e.set_key(req->key());
    e.set_value(req->value());
    e.set_metadata(req->metadata());
    e.set_version(++s_->version);
    e.set_expiration(req->ttl_seconds() > 0 ? absl::ToUnixSeconds(absl::Now()) + req->ttl_seconds()
                                            : req->expiration());
    resp->set_version(e.version());
    resp->set_expiration(e.expiration());
    s_->data[req->key()] = std::move(e);
    l.Release();
    return s_->AfterApply(Method::kPut, ctx);
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const v1::DeleteRequest* req,
                      v1::DeleteResponse* resp) override {
    if (auto st = s_->Enter(Method::kDelete, ctx); !st.ok()) return st;
    absl::ReleasableMutexLock l(&s_->mu);
    const uint64_t current = s_->VersionOf(req->key());
    if (req->has_if_version() && req->if_version() != current) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("if_version: key is at version ", current));
    }
    if (current == 0) {
      resp->set_deleted(false);
      resp->set_version(s_->version);
      return grpc::Status::OK;
    }
    s_->data.erase(req->key());
    resp->set_deleted(true);
    resp->set_version(++s_->version);
    l.Release();
    return s_->AfterApply(Method::kDelete, ctx);
  }

  grpc::Status List(grpc::ServerContext* ctx, const v1::ListRequest* req,
                    v1::ListResponse* resp) override {
    if (auto st = s_->Enter(Method::kList, ctx); !st.ok()) return st;
    if (req->limit() > 1000) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: must be <= 1000");
    }
    const uint32_t limit = req->limit() == 0 ? 100 : req->limit();
    absl::MutexLock l(&s_->mu);
    s_->RecordRead(req->options());
    // The fake's cursor is the last key returned.
    auto it = req->cursor().empty() ? s_->data.lower_bound(req->prefix())
                                    : s_->data.upper_bound(req->cursor());
    for (; it != s_->data.end() && absl::StartsWith(it->first, req->prefix()); ++it) {
      if (static_cast<uint32_t>(resp->entries_size()) == limit) {
        resp->set_next_cursor(resp->entries(resp->entries_size() - 1).key());
        break;
      }
      v1::Entry* e = resp->add_entries();
      *e = it->second;
      if (!req->include_values()) e->clear_value();
    }
    s_->FillInfo(resp->mutable_info());
    return grpc::Status::OK;
  }

 private:
  State* const s_;
};

class FakeKvServer::AdminService final : public v1::Admin::Service {
 public:
  explicit AdminService(State* s) : s_(s) {}
  grpc::Status Status(grpc::ServerContext* ctx, const v1::StatusRequest*,
                      v1::StatusResponse* resp) override {
    if (auto st = s_->Enter(Method::kStatus, ctx); !st.ok()) return st;
    absl::MutexLock l(&s_->mu);
    *resp = s_->status;
    if (resp->node_id().empty()) resp->set_node_id(s_->node_id);
    if (resp->head_version() == 0) resp->set_head_version(s_->version);
    if (resp->key_count() == 0) resp->set_key_count(s_->data.size());
    return grpc::Status::OK;
  }

 private:
  State* const s_;
};

FakeKvServer::FakeKvServer(std::string node_id)
    : node_id_(std::move(node_id)), state_(std::make_unique<State>()) {
  state_->node_id = node_id_;
  absl::MutexLock l(&state_->mu);
  state_->status.set_role("central");
}

FakeKvServer::~FakeKvServer() { Stop(); }

absl::Status FakeKvServer::Start() {
  kv_ = std::make_unique<KvService>(state_.get());
  admin_ = std::make_unique<AdminService>(state_.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(kv_.get());
  builder.RegisterService(admin_.get());
  builder.SetMaxReceiveMessageSize(32 << 20);
  builder.SetMaxSendMessageSize(32 << 20);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) return absl::InternalError("fake server did not start");
  return absl::OkStatus();
}

void FakeKvServer::Stop() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
}

std::string FakeKvServer::address() const { return absl::StrCat("127.0.0.1:", port_); }

void FakeKvServer::FailNext(Method m, int count, grpc::StatusCode code, std::string message) {
  absl::MutexLock l(&state_->mu);
  auto& in = state_->injections[static_cast<int>(m)];
  in.fail_count = count;
  in.code = code;
  in.message = std::move(message);
}

void FakeKvServer::FailAfterApplyNext(Method m, int count, grpc::StatusCode code,
                                      std::string message, absl::Duration delay) {
  absl::MutexLock l(&state_->mu);
  auto& in = state_->injections[static_cast<int>(m)];
  in.after_apply_count = count;
  in.after_apply_code = code;
  in.after_apply_message = std::move(message);
  in.after_apply_delay = delay;
}

void FakeKvServer::DelayNext(Method m, int count, absl::Duration delay) {
  absl::MutexLock l(&state_->mu);
  auto& in = state_->injections[static_cast<int>(m)];
  in.delay_count = count;
  in.delay = delay;
}

void FakeKvServer::SetPutDelay(absl::Duration delay) {
  absl::MutexLock l(&state_->mu);
  state_->put_delay = delay;
}

void FakeKvServer::SetAsOfVersion(uint64_t v) {
  absl::MutexLock l(&state_->mu);
  state_->as_of_override = v;
}

void FakeKvServer::SetStatus(const kvstore::v1::StatusResponse& status) {
  absl::MutexLock l(&state_->mu);
  state_->status = status;
}

int FakeKvServer::calls(Method m) {
  absl::MutexLock l(&state_->mu);
  return state_->calls[static_cast<int>(m)];
}

std::vector<uint64_t> FakeKvServer::min_versions() {
  absl::MutexLock l(&state_->mu);
  return state_->min_versions;
}

std::vector<std::string> FakeKvServer::authorizations() {
  absl::MutexLock l(&state_->mu);
  return state_->authorizations;
}

kvstore::v1::ReadOptions FakeKvServer::last_read_options() {
  absl::MutexLock l(&state_->mu);
  return state_->last_read_options;
}

int FakeKvServer::max_concurrent_puts() {
  absl::MutexLock l(&state_->mu);
  return state_->max_concurrent_puts;
}

uint64_t FakeKvServer::head_version() {
  absl::MutexLock l(&state_->mu);
  return state_->version;
}

void FakeKvServer::Insert(const std::string& key, const std::string& value,
                          const std::string& metadata) {
  absl::MutexLock l(&state_->mu);
  v1::Entry& e = state_->data[key];
  e.set_key(key);
  e.set_value(value);
  e.set_metadata(metadata);
  e.set_version(++state_->version);
}

bool FakeKvServer::Lookup(const std::string& key, kvstore::v1::Entry* out) {
  absl::MutexLock l(&state_->mu);
  auto it = state_->data.find(key);
  if (it == state_->data.end()) return false;
  *out = it->second;
  return true;
}

RefusingPort::RefusingPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port_ = ntohs(addr.sin_port);
  }
}

RefusingPort::~RefusingPort() {
  if (fd_ >= 0) ::close(fd_);
}

std::string RefusingPort::address() const { return absl::StrCat("127.0.0.1:", port_); }

SilentPort::SilentPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::listen(fd_, 16) == 0 && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port_ = ntohs(addr.sin_port);
  }
}

SilentPort::~SilentPort() {
  if (fd_ >= 0) ::close(fd_);
}

std::string SilentPort::address() const { return absl::StrCat("127.0.0.1:", port_); }

}  // namespace kv::client::testing
