#include "client/watch.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "client/client_impl.h"
#include "client/retry.h"
#include "common/grpc_status.h"

namespace kv::client {
namespace {

WatchEvent FromProto(const kvstore::v1::WatchEvent& e) {
  WatchEvent out;
  out.type = e.type() == kvstore::v1::WatchEvent::TYPE_DELETE ? WatchEvent::Type::kDelete
                                                              : WatchEvent::Type::kPut;
  out.key = e.key();
  out.value = e.value();
  out.metadata = e.metadata();
  out.expiration = e.expiration();
  out.version = e.version();
  out.value_omitted = e.value_omitted();
  out.value_size = e.value_size();
  return out;
}

uint64_t TrailerVersion(const grpc::ClientContext& context, const char* key) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(key);
  uint64_t v = 0;
  if (it == trailers.end() ||
      !absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &v)) {
    return 0;
  }
  return v;
}

// A watch the client cannot run (a test double without watches).
class EndedWatch final : public Watch {
 public:
  explicit EndedWatch(absl::Status status) : status_(std::move(status)) {}
  void Cancel() override {}
  absl::Status Wait() override { return status_; }

 private:
  const absl::Status status_;
};

class ClientWatch final : public Watch {
 public:
  ClientWatch(ClientImpl* client, WatchOptions options,
              absl::AnyInvocable<void(const WatchUpdate&)> on_update)
      : client_(client), options_(std::move(options)), on_update_(std::move(on_update)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ClientWatch() override {
    Cancel();
    thread_.join();
  }
  void Cancel() override {
    absl::MutexLock l(&mu_);
    cancelled_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  absl::Status Wait() override {
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(&done_));
    return status_;
  }

 private:
  // One connection: reads until the stream ends; returns its status.
  grpc::Status Stream(Endpoint* endpoint, grpc::ClientContext* context);
  // Re-reads the watched keys and delivers them as a resync update.
  absl::Status Resync();
  void Deliver(WatchUpdate update);
  void Run();
  bool cancelled() {
    absl::MutexLock l(&mu_);
    return cancelled_;
  }
  // Sleeps `d` unless cancelled first; false when cancelled.
  bool SleepFor(absl::Duration d) {
    absl::MutexLock l(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&cancelled_), d);
    return !cancelled_;
  }

  ClientImpl* const client_;
  const WatchOptions options_;
  absl::AnyInvocable<void(const WatchUpdate&)> on_update_;
  // Only the watch's thread: the next version to ask for (0 = from now).
  uint64_t next_ = 0;
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;  // the call in progress
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

void ClientWatch::Deliver(WatchUpdate update) {
  if (options_.fetch_omitted_values) {
    for (WatchEvent& e : update.events) {
      if (!e.value_omitted) continue;
      ReadOptions read;
      read.min_version = e.version;
      read.use_session = false;
      auto got = client_->Get(e.key, read);
      if (got.ok() && got->found && got->entry.version == e.version) {
        e.value = std::move(got->entry.value);
        e.value_omitted = false;
      }
    }
  }
  next_ = std::max(next_, update.applied_version + 1);
  on_update_(update);
}

grpc::Status ClientWatch::Stream(Endpoint* endpoint, grpc::ClientContext* context) {
  kvstore::v1::WatchRequest request;
  request.set_prefix(options_.prefix);
  for (const std::string& key : options_.keys) request.add_keys(key);
  request.set_start_version(next_);
  request.set_progress_interval_millis(absl::ToInt64Milliseconds(options_.progress_interval));
  client_->Authorize(context);
  auto reader = endpoint->kv->Watch(context, request);
  kvstore::v1::WatchResponse response;
  while (reader->Read(&response)) {
    WatchUpdate update;
    for (const auto& e : response.events()) update.events.push_back(FromProto(e));
    update.applied_version = response.applied_version();
    update.staleness = absl::Microseconds(response.staleness_micros());
    update.node_id = response.node_id();
    update.endpoint = endpoint->address;
    Deliver(std::move(update));
  }
  return reader->Finish();
}

absl::Status ClientWatch::Resync() {
  WatchUpdate update;
  update.resync = true;
  uint64_t as_of = UINT64_MAX;
  if (!options_.keys.empty()) {
    auto got = client_->BatchGet(options_.keys);
    if (!got.ok()) return got.status();
    as_of = got->info.as_of_version;
    update.node_id = got->info.node_id;
    update.endpoint = got->info.endpoint;
    for (auto& item : got->items) {
      if (!item.found) continue;
      update.events.push_back({WatchEvent::Type::kPut, item.entry.key, item.entry.value,
                               item.entry.metadata, item.entry.expiration, item.entry.version});
    }
  } else {
    ListOptions list;
    list.prefix = options_.prefix;
    list.include_values = true;
    list.limit = 1000;
    do {
      auto page = client_->List(list);
      if (!page.ok()) return page.status();
      // Pages may come from versions apart: resume after the oldest, so nothing is missed (a
      // change between the pages' versions may then be delivered again).
      as_of = std::min(as_of, page->info.as_of_version);
      update.node_id = page->info.node_id;
      update.endpoint = page->info.endpoint;
      for (auto& e : page->entries) {
        update.events.push_back({WatchEvent::Type::kPut, e.key, std::move(e.value), e.metadata,
                                 e.expiration, e.version});
      }
      list.cursor = page->next_cursor;
    } while (!list.cursor.empty());
  }
  update.applied_version = as_of;
  next_ = as_of + 1;
  on_update_(update);
  return absl::OkStatus();
}

void ClientWatch::Run() {
  next_ = options_.start_version;
  absl::Status final_status;
  int failures = 0;
  while (!cancelled()) {
    std::vector<Endpoint*> order = client_->read_endpoints().Order();
    Endpoint* endpoint = order.front();
    grpc::ClientContext context;
    {
      absl::MutexLock l(&mu_);
      if (cancelled_) break;
      context_ = &context;
    }
    const uint64_t before = next_;
    grpc::Status s = Stream(endpoint, &context);
    {
      absl::MutexLock l(&mu_);
      context_ = nullptr;
      if (cancelled_) break;
    }
    if (next_ > before) failures = 0;
    const grpc::StatusCode code = s.error_code();
    if (code == grpc::StatusCode::OUT_OF_RANGE && options_.resync_when_too_old) {
      if (absl::Status r = Resync(); !r.ok()) {
        final_status = r;
        break;
      }
      continue;
    }
    if (code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      // Ended for falling behind: resume at once from where the node says.
      if (uint64_t resume = TrailerVersion(context, "kv-resume-version"); resume != 0) {
        next_ = std::max(next_, resume);
        if (options_.auto_resume) continue;
      }
    }
    const bool retry = code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::OK ||
                       code == grpc::StatusCode::CANCELLED ||
                       code == grpc::StatusCode::DEADLINE_EXCEEDED ||
                       code == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                       code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN;
    if (!options_.auto_resume || !retry) {
      final_status = FromGrpcStatus(s);
      break;
    }
    if (code == grpc::StatusCode::UNAVAILABLE) client_->read_endpoints().MarkFailed(endpoint);
    if (!SleepFor(Backoff(client_->options().retry, ++failures, UnitRandom()))) break;
  }
  absl::MutexLock l(&mu_);
  status_ = cancelled_ ? absl::CancelledError("the watch was cancelled") : final_status;
  done_ = true;
}

}  // namespace

std::unique_ptr<Watch> StartClientWatch(ClientImpl* client, const WatchOptions& options,
                                        absl::AnyInvocable<void(const WatchUpdate&)> on_update) {
  return std::make_unique<ClientWatch>(client, options, std::move(on_update));
}

std::unique_ptr<Watch> Client::DoWatch(const WatchOptions& options,
                                       absl::AnyInvocable<void(const WatchUpdate&)> on_update) {
  return std::make_unique<EndedWatch>(
      absl::UnimplementedError("this client does not implement watches"));
}

}  // namespace kv::client
