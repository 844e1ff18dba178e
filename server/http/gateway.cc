#include "server/http/gateway.h"

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/units.h"
#include "server/http/shared_body_pool.h"
#include "server/http/url.h"

namespace kv::server {
namespace {

constexpr absl::string_view kKvPrefix = "/v1/kv/";
constexpr absl::string_view kGetOrHead = "GET, HEAD";

bool IsGetOrHead(const HttpRequest& request) {
  return request.method == HttpMethod::kGet || request.method == HttpMethod::kHead;
}

void MethodNotAllowed(Responder& responder) {
  HttpResponse& out = responder.response();
  out.AddHeader("Allow", kGetOrHead);
  out.SetText(405, "method not allowed (use GET or HEAD)");
  responder.Send();
}

// One /v1/kv read in flight: the node may complete it on another thread, and request, context
// and response must stay alive until it does.
struct KvCall {
  kvstore::v1::GetRequest request;
  kvstore::v1::GetResponse response;
  CallContext context;
  Responder responder;
  Metrics* metrics = nullptr;
  // Large values are shared through it (null: never).
  std::shared_ptr<SharedBodyPool> bodies;
  size_t share_from_bytes = 0;
  std::chrono::steady_clock::time_point start;
};

// What the /v1/kv handler needs, shared by its copies.
struct KvRoute {
  Node* node = nullptr;
  Gatekeeper* gate = nullptr;
  Metrics* metrics = nullptr;
  GatewayOptions options;
  // Held by the route (and so by the server's routes) and by every call in flight.
  std::shared_ptr<SharedBodyPool> bodies;
};

void Record(Metrics* metrics, absl::StatusCode code, std::chrono::steady_clock::time_point start) {
  if (metrics == nullptr) return;
  metrics->RecordRequest(Method::kHttpGet, code,
                         absl::FromChrono(std::chrono::steady_clock::now() - start));
}

// Answers a request the gateway rejected before it reached the node.
void Reject(Responder& responder, Metrics* metrics, std::chrono::steady_clock::time_point start,
            int http_status, absl::StatusCode code, absl::string_view message) {
  HttpResponse& out = responder.response();
  out.AddHeader("X-KV-Code", GrpcCodeName(static_cast<grpc::StatusCode>(code)));
  out.SetText(http_status, message);
  Record(metrics, code, start);
  responder.Send();
}

void AddFreshnessHeaders(const kvstore::v1::ReadInfo& info, HttpResponse& out) {
  out.AddHeader("X-KV-Staleness-Seconds", FormatStalenessSeconds(info.staleness_micros()));
  const absl::string_view source = SourceName(info.source());
  if (!source.empty()) out.AddHeader("X-KV-Source", source);
  out.AddHeader("X-KV-As-Of-Version", absl::AlphaNum(info.as_of_version()).Piece());
  if (!info.node_id().empty()) out.AddHeader("X-KV-Node", info.node_id());
  if (info.stale()) out.AddHeader("X-KV-Stale", "true");
}

void FinishKv(KvCall& call, const absl::Status& status) {
  HttpResponse& out = call.responder.response();
  absl::StatusCode code = status.code();
  if (!status.ok()) {
    out.AddHeader("X-KV-Code", GrpcCodeName(static_cast<grpc::StatusCode>(code)));
    if (code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kResourceExhausted) {
      out.AddHeader("Retry-After", "1");
    }
    out.SetText(HttpStatusFromCode(code), status.message());
  } else if (!call.response.found()) {
    code = absl::StatusCode::kNotFound;
    AddFreshnessHeaders(call.response.info(), out);
    out.SetText(404, "not found");
  } else {
    kvstore::v1::Entry& entry = *call.response.mutable_entry();
    out.set_status(200);
    out.set_content_type("application/octet-stream");
    out.AddHeader("X-KV-Version", absl::AlphaNum(entry.version()).Piece());
    AddFreshnessHeaders(call.response.info(), out);
    if (entry.expiration() != 0) {
      out.AddHeader("X-KV-Expiration", absl::AlphaNum(entry.expiration()).Piece());
    }
    if (!entry.metadata().empty()) out.AddHeader("X-KV-Metadata", PercentEncode(entry.metadata()));
    if (call.bodies != nullptr && entry.version() != 0 &&
        entry.value().size() >= call.share_from_bytes) {
      // Readers of the same version in flight share one copy; this one is dropped if so.
      out.set_shared_body(call.bodies->Intern(call.request.key(), entry.version(),
                                              std::move(*entry.mutable_value())));
    } else {
      out.body().swap(*entry.mutable_value());  // no copy of the value
    }
  }
  Record(call.metrics, code, call.start);
  call.responder.Send();
}

void HandleKv(const std::shared_ptr<KvRoute>& route, const HttpRequest& request,
              Responder responder) {
  Metrics* const metrics = route->metrics;
  const auto start = std::chrono::steady_clock::now();
  if (!IsGetOrHead(request)) {
    responder.response().AddHeader("Allow", kGetOrHead);
    Reject(responder, metrics, start, 405, absl::StatusCode::kUnimplemented,
           "method not allowed on /v1/kv (use GET or HEAD)");
    return;
  }
  if (request.path.size() <= kKvPrefix.size()) {
    Reject(responder, metrics, start, 400, absl::StatusCode::kInvalidArgument,
           "missing key: use /v1/kv/{key} (percent-encode bytes outside A-Z a-z 0-9 - . _ ~)");
    return;
  }
  auto call = std::make_unique<KvCall>();
  absl::Status s =
      PercentDecode(request.path.substr(kKvPrefix.size()), call->request.mutable_key());
  if (!s.ok()) {
    Reject(responder, metrics, start, 400, absl::StatusCode::kInvalidArgument,
           absl::StrCat("key: ", s.message()));
    return;
  }
  if (!request.query.empty()) {
    s = ParseReadOptions(request.query, call->request.mutable_options());
    if (!s.ok()) {
      Reject(responder, metrics, start, 400, absl::StatusCode::kInvalidArgument, s.message());
      return;
    }
  }
  call->context.deadline = absl::Now() + route->options.read_timeout;
  call->context.peer.assign(request.peer.data(), request.peer.size());
  s = AdmitHttpCaller(request, route->gate, &call->context, &responder.response());
  if (!s.ok()) {
    Reject(responder, metrics, start, HttpStatusFromCode(s.code()), s.code(), s.message());
    return;
  }
  call->responder = std::move(responder);
  call->metrics = metrics;
  call->start = start;
  if (route->options.share_values_from_bytes > 0) {
    call->bodies = route->bodies;
    call->share_from_bytes = route->options.share_values_from_bytes;
  }
  KvCall* c = call.get();
  route->node->Get(
      c->request, &c->response, c->context,
      [call = std::move(call)](absl::Status status) mutable { FinishKv(*call, status); });
}

}  // namespace

absl::Status AdmitHttpCaller(const HttpRequest& request, Gatekeeper* gate, CallContext* call,
                             HttpResponse* response) {
  if (gate == nullptr) return absl::OkStatus();
  std::optional<absl::string_view> authorization;
  if (request.HeaderCount("Authorization") > 0) authorization = request.Header("Authorization");
  absl::Status s = request.HeaderCount("Authorization") > 1 ? gate->MalformedAuthorization()
                                                            : gate->Admit(authorization, call);
  if (absl::IsUnauthenticated(s)) {
    response->AddHeader("WWW-Authenticate", request.HeaderCount("Authorization") == 0
                                                ? "Bearer"
                                                : "Bearer error=\"invalid_token\"");
  }
  return s;
}

absl::Status ParseReadOptions(absl::string_view query, kvstore::v1::ReadOptions* options) {
  std::vector<QueryParam> params;
  if (absl::Status s = ParseQuery(query, &params); !s.ok()) return s;
  bool seen[4] = {false, false, false, false};
  for (const QueryParam& p : params) {
    const auto bad = [&p](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter '", p.name, "': ", why, " (got '", p.value, "')"));
    };
    int index;
    if (p.name == "consistency") {
      index = 0;
      const std::string v = absl::AsciiStrToLower(p.value);
      if (v == "strong") {
        options->set_consistency(kvstore::v1::CONSISTENCY_STRONG);
      } else if (v == "bounded") {
        options->set_consistency(kvstore::v1::CONSISTENCY_BOUNDED);
      } else {
        return bad("must be 'strong' or 'bounded'");
      }
    } else if (p.name == "max_staleness") {
      index = 1;
      absl::StatusOr<absl::Duration> d = ParseDurationFlag(p.value);
      if (!d.ok()) return bad(d.status().message());
      options->set_max_staleness_micros(absl::ToInt64Microseconds(*d));
    } else if (p.name == "min_version") {
      index = 2;
      uint64_t version = 0;
      if (!absl::SimpleAtoi(p.value, &version)) return bad("must be an unsigned integer");
      options->set_min_version(version);
    } else if (p.name == "allow_stale") {
      index = 3;
      const std::string v = absl::AsciiStrToLower(p.value);
      if (!p.has_value || v == "true" || v == "1") {
        options->set_allow_stale(true);
      } else if (v == "false" || v == "0") {
        options->set_allow_stale(false);
      } else {
        return bad("must be true, false, 1 or 0");
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown query parameter '", p.name,
                       "' (known: consistency, max_staleness, min_version, allow_stale)"));
    }
    if (seen[index]) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter '", p.name, "' is given more than once"));
    }
    seen[index] = true;
  }
  return absl::OkStatus();
}

int HttpStatusFromCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kFailedPrecondition:
      return 412;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

std::string FormatStalenessSeconds(int64_t micros) {
  if (micros < 0) micros = 0;
  return absl::StrCat(micros / 1000000, ".", absl::Dec(micros % 1000000, absl::kZeroPad6));
}

absl::string_view SourceName(kvstore::v1::Source source) {
  switch (source) {
    case kvstore::v1::SOURCE_CENTRAL:
      return "central";
    case kvstore::v1::SOURCE_EDGE_STORE:
      return "edge-store";
    case kvstore::v1::SOURCE_EDGE_CACHE:
      return "edge-cache";
    case kvstore::v1::SOURCE_UPSTREAM:
      return "upstream";
    default:
      return "";
  }
}

void RegisterGatewayRoutes(HttpServer* server, Node* node, Metrics* metrics, GatewayOptions options,
                           Gatekeeper* gate) {
  server->Route("/healthz", [](const HttpRequest& request, Responder responder) {
    if (!IsGetOrHead(request)) return MethodNotAllowed(responder);
    responder.response().SetText(200, "ok");
    responder.Send();
  });
  server->Route("/readyz", [node](const HttpRequest& request, Responder responder) {
    if (!IsGetOrHead(request)) return MethodNotAllowed(responder);
    std::string why_not;
    if (node->Ready(&why_not)) {
      responder.response().SetText(200, "ready");
    } else {
      responder.response().SetText(503, absl::StrCat("not ready: ", why_not));
    }
    responder.Send();
  });
  if (metrics != nullptr) {
    server->Route("/metrics", [metrics](const HttpRequest& request, Responder responder) {
      if (!IsGetOrHead(request)) return MethodNotAllowed(responder);
      HttpResponse& out = responder.response();
      out.set_content_type("text/plain; version=0.0.4; charset=utf-8");
      out.set_body(metrics->Serialize());
      responder.Send();
    });
  }
  auto route = std::make_shared<KvRoute>();
  route->node = node;
  route->gate = gate;
  route->metrics = metrics;
  route->options = options;
  route->bodies = std::make_shared<SharedBodyPool>();
  auto kv = [route](const HttpRequest& request, Responder responder) {
    HandleKv(route, request, std::move(responder));
  };
  server->Route("/v1/kv", kv);
  server->RoutePrefix(kKvPrefix, kv);
}

}  // namespace kv::server
