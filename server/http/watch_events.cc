#include "server/http/watch_events.h"

#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "nlohmann/json.hpp"
#include "server/http/gateway.h"
#include "server/http/url.h"

namespace kv::server {
namespace {

using nlohmann::json;

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    int extra = c < 0x80           ? 0
                : (c >> 5) == 0x6  ? 1
                : (c >> 4) == 0xE  ? 2
                : (c >> 3) == 0x1E ? 3
                                   : -1;
    if (extra < 0 || (extra > 0 && i + extra >= s.size())) return false;
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

// "name": text when it is UTF-8, else "name_base64".
void SetBytes(json& obj, const std::string& name, const std::string& bytes) {
  if (IsValidUtf8(bytes)) {
    obj[name] = bytes;
  } else {
    obj[name + "_base64"] = absl::Base64Escape(bytes);
  }
}

std::string SseEvent(absl::string_view type, const json& data, uint64_t id, bool with_id) {
  std::string out = absl::StrCat("event: ", type, "\n");
  if (with_id) absl::StrAppend(&out, "id: ", id, "\n");
  absl::StrAppend(&out, "data: ", data.dump(), "\n\n");
  return out;
}

// One watcher on one HTTP connection. It keeps itself alive (self_) until the hub is done
// with it; the connection's callback holds only a weak pointer.
//
// Chunks are written in order: the answer's head, then one hub message at a time, then the
// error event at the end. The hub's message is written when no chunk is outstanding any more.
class SseSink final : public WatchSink {
 public:
  explicit SseSink(WatchHub* hub) : hub_(hub) {}

  void set_self(std::shared_ptr<SseSink> self) {
    absl::MutexLock l(&mu_);
    self_ = std::move(self);
  }
  // The head was handed to the connection (counted as the first outstanding chunk); messages
  // the hub sent before are written after it.
  void Attach(HttpStream stream) {
    absl::MutexLock l(&mu_);
    stream_ = std::move(stream);
    attached_ = true;
    ++outstanding_;
    for (std::string& chunk : early_) WriteLocked(std::move(chunk));
    early_.clear();
    if (gone_) stream_.End();  // ended before the head went out
  }

  void Send(const WatchMessage& message) override {
    absl::MutexLock l(&mu_);
    in_flight_ = true;
    WriteLocked(message.Text(&FormatWatchEvents));  // formatted once for every SSE watcher
  }
  void End(const WatchEnd& end) override {
    json data = {{"code", GrpcCodeName(ToGrpcStatus(end.status).error_code())},
                 {"message", std::string(end.status.message())}};
    if (end.oldest_version != 0) data["oldest_version"] = end.oldest_version;
    if (end.resume_version != 0) data["resume_version"] = end.resume_version;
    std::shared_ptr<SseSink> keep;
    {
      absl::MutexLock l(&mu_);
      WriteLocked(SseEvent("error", data, 0, false));
      if (attached_) stream_.End();
      gone_ = true;
      keep = std::move(self_);
    }
    hub_->OnGone(this);  // the hub forgets it; `keep` lets this return safely
  }

  // The connection's thread: a chunk was written (true) or the connection closed (false).
  void OnStreamEvent(bool ok) {
    bool sent = false, cancel = false;
    {
      absl::MutexLock l(&mu_);
      if (gone_) return;
      if (ok) {
        --outstanding_;
        sent = in_flight_ && outstanding_ == 0;
      } else {
        sent = in_flight_;
        cancel = true;
      }
      if (sent) in_flight_ = false;
    }
    if (sent) hub_->OnSent(this, ok);
    if (cancel) hub_->OnCancel(this);
  }

 private:
  void WriteLocked(std::string chunk) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!attached_) {
      early_.push_back(std::move(chunk));
      return;
    }
    ++outstanding_;
    stream_.Write(std::move(chunk));
  }

  WatchHub* const hub_;
  absl::Mutex mu_;
  HttpStream stream_ ABSL_GUARDED_BY(mu_);
  bool attached_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> early_ ABSL_GUARDED_BY(mu_);  // before Attach
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;             // chunks handed over, not yet written
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;          // the hub's message is not written yet
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<SseSink> self_ ABSL_GUARDED_BY(mu_);
};

absl::Status ParseWatchQuery(absl::string_view query, kvstore::v1::WatchRequest* request) {
  std::vector<QueryParam> params;
  if (absl::Status s = ParseQuery(query, &params); !s.ok()) return s;
  for (const QueryParam& p : params) {
    const auto bad = [&p](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter '", p.name, "': ", why, " (got '", p.value, "')"));
    };
    uint64_t n = 0;
    if (p.name == "prefix") {
      request->set_prefix(p.value);
    } else if (p.name == "key") {
      request->add_keys(p.value);
    } else if (p.name == "from_version") {
      if (!absl::SimpleAtoi(p.value, &n)) return bad("must be a version number");
      request->set_start_version(n);
    } else if (p.name == "progress_ms") {
      if (!absl::SimpleAtoi(p.value, &n) || n > 3'600'000) return bad("must be 0..3600000");
      request->set_progress_interval_millis(static_cast<int64_t>(n));
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown query parameter '", p.name, "' (use prefix, key, from_version, progress_ms)"));
    }
  }
  return absl::OkStatus();
}

void Refuse(Responder& responder, const absl::Status& s) {
  responder.response().SetText(HttpStatusFromCode(s.code()), s.message());
  responder.Send();
}

void HandleWatch(WatchHub* hub, AuthorizedNode* access, Gatekeeper* gate,
                 const HttpRequest& request, Responder responder) {
  if (request.method != HttpMethod::kGet) {
    responder.response().AddHeader("Allow", "GET");
    responder.response().SetText(405, "use GET");
    responder.Send();
    return;
  }
  kvstore::v1::WatchRequest watch;
  if (absl::Status s = ParseWatchQuery(request.query, &watch); !s.ok()) {
    return Refuse(responder, s);
  }
  // SSE's own resume: the browser (or curl -H) sends the last id it saw.
  if (absl::string_view last = request.Header("Last-Event-ID"); !last.empty()) {
    uint64_t id = 0;
    if (!absl::SimpleAtoi(last, &id)) {
      return Refuse(responder, absl::InvalidArgumentError("Last-Event-ID must be a version"));
    }
    watch.set_start_version(id + 1);
  }
  CallContext call;
  call.peer.assign(request.peer.data(), request.peer.size());
  if (absl::Status s = AdmitHttpCaller(request, gate, &call, &responder.response()); !s.ok()) {
    return Refuse(responder, s);
  }
  bool hide_reserved = true;
  if (absl::Status s = access->AuthorizeWatch(call, watch, &hide_reserved); !s.ok()) {
    return Refuse(responder, s);
  }
  absl::StatusOr<WatchFilter> filter = hub->MakeFilter(watch, hide_reserved);
  if (!filter.ok()) return Refuse(responder, filter.status());
  auto sink = std::make_shared<SseSink>(hub);
  // Registered before the head is sent, so a refusal is still an ordinary HTTP answer.
  sink->set_self(sink);
  if (std::optional<WatchEnd> refused = hub->Add(sink.get(), watch, *std::move(filter))) {
    sink->set_self(nullptr);
    return Refuse(responder, refused->status);
  }
  HttpResponse& out = responder.response();
  out.set_status(200);
  out.set_content_type("text/event-stream");
  out.AddHeader("Cache-Control", "no-cache");
  out.AddHeader("X-Accel-Buffering", "no");
  std::weak_ptr<SseSink> weak = sink;
  sink->Attach(responder.SendStream([weak](bool ok) {
    if (auto s = weak.lock()) s->OnStreamEvent(ok);
  }));
}

}  // namespace

std::string FormatWatchEvents(const kvstore::v1::WatchResponse& response) {
  std::string out;
  const int n = response.events_size();
  for (int i = 0; i < n; ++i) {
    const kvstore::v1::WatchEvent& e = response.events(i);
    json data = json::object();
    const bool del = e.type() == kvstore::v1::WatchEvent::TYPE_DELETE;
    data["type"] = del ? "delete" : "put";
    SetBytes(data, "key", e.key());
    data["version"] = e.version();
    if (!del) {
      if (e.value_omitted()) {
        data["value_omitted"] = true;
      } else {
        SetBytes(data, "value", e.value());
      }
      data["value_size"] = e.value_size();
      if (!e.metadata().empty()) SetBytes(data, "metadata", e.metadata());
      if (e.expiration() != 0) data["expiration"] = e.expiration();
    }
    absl::StrAppend(&out,
                    SseEvent(del ? "delete" : "put", data, response.applied_version(), i == n - 1));
  }
  if (n == 0) {
    json data = {{"applied_version", response.applied_version()},
                 {"staleness_ms", response.staleness_micros() / 1000.0},
                 {"node_id", response.node_id()}};
    out = SseEvent("progress", data, response.applied_version(), true);
  }
  return out;
}

void RegisterWatchRoute(HttpServer* server, WatchHub* hub, AuthorizedNode* access,
                        Gatekeeper* gate) {
  server->Route("/v1/watch", [hub, access, gate](const HttpRequest& request, Responder responder) {
    HandleWatch(hub, access, gate, request, std::move(responder));
  });
}

}  // namespace kv::server
