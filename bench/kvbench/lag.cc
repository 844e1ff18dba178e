#include "bench/kvbench/lag.h"

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <optional>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/common/zipf.h"
#include "bench/kvbench/connections.h"
#include "bench/kvbench/recorder.h"
#include "bench/kvbench/runner.h"
#include "kvstore/v1/kv.grpc.pb.h"

namespace kv::kvbench {
namespace {

using kvstore::v1::GetResponse;
using kvstore::v1::KV;

std::chrono::system_clock::time_point DeadlineAfterNanos(int64_t ns) {
  return std::chrono::system_clock::now() + std::chrono::nanoseconds(ns);
}

// One edge's poll state within a probe.
struct Poller {
  std::unique_ptr<KV::Stub> stub;
  EdgeLag* lag = nullptr;
  kvstore::v1::GetRequest request;
  std::optional<grpc::ClientContext> ctx;
  GetResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<GetResponse>> reader;
  int64_t sent_ns = 0;
  // Send time of the last poll the edge answered without the version; -1 when none.
  int64_t prev_sent_ns = -1;
};

class Prober {
 public:
  Prober(const LagOptions& options, LagReport* report) : options_(options), report_(report) {
    central_ = KV::NewStub(NewDistinctChannel(options.central, 0));
    put_.set_key(options.keys.prefix + "lag-probe");
    for (size_t i = 0; i < options.edges.size(); ++i) {
      auto p = std::make_unique<Poller>();
      p->stub = KV::NewStub(NewDistinctChannel(options.edges[i], static_cast<int>(i) + 1));
      p->request.set_key(put_.key());
      auto* read = p->request.mutable_options();
      read->set_consistency(kvstore::v1::CONSISTENCY_BOUNDED);
      read->set_max_staleness_micros(absl::ToInt64Microseconds(options.poll_max_staleness));
      read->set_allow_stale(true);
      pollers_.push_back(std::move(p));
    }
  }

  // Writes probe `n` and polls every edge until it serves it. Results go to `lags` (one per edge).
  // Fails only when the probe write fails.
  absl::Status Probe(uint64_t n, std::vector<EdgeLag>* lags, bool measured) {
    put_.set_value(absl::StrCat("probe ", n, " "));
    if (put_.value().size() < options_.background.value_size) {
      put_.mutable_value()->resize(options_.background.value_size, '.');
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfterNanos(absl::ToInt64Nanoseconds(options_.timeout)));
    kvstore::v1::PutResponse put_response;
    grpc::Status put_status;
    const int64_t sent = NowNanos();
    auto rpc = central_->AsyncPut(&ctx, put_, &cq_);
    rpc->Finish(&put_response, &put_status, &put_);
    void* tag;
    bool ok;
    cq_.Next(&tag, &ok);
    const int64_t ack = NowNanos();
    if (!put_status.ok()) {
      return absl::UnavailableError(absl::StrCat("probe write to ", options_.central,
                                                 " failed: ", put_status.error_message()));
    }
    if (measured) report_->probe_put_ns.Record(ack - sent);
    const uint64_t version = put_response.version();
    const int64_t deadline = ack + absl::ToInt64Nanoseconds(options_.sample_timeout);

    int in_flight = 0;
    for (size_t i = 0; i < pollers_.size(); ++i) {
      pollers_[i]->lag = &(*lags)[i];
      pollers_[i]->prev_sent_ns = -1;
      Send(pollers_[i].get(), deadline);
      ++in_flight;
    }
    while (in_flight > 0) {
      cq_.Next(&tag, &ok);
      const int64_t now = NowNanos();
      --in_flight;
      Poller* p = static_cast<Poller*>(tag);
      EdgeLag& lag = *p->lag;
      ++lag.polls;
      lag.poll_rtt_ns.Record(now - p->sent_ns);
      bool visible = false;
      bool absent = false;  // the edge itself answered without the version
      if (p->status.ok()) {
        const auto source = p->response.info().source();
        const bool local =
            source == kvstore::v1::SOURCE_EDGE_STORE || source == kvstore::v1::SOURCE_EDGE_CACHE;
        if (!local) ++lag.forwarded;
        const bool has = p->response.found() && p->response.entry().version() >= version;
        visible = local && has;
        absent = local && !has;
      } else if (++lag.errors == 1) {
        lag.first_error = p->status.error_message();
      }
      if (visible) {
        ++lag.samples;
        const int64_t upper = now - ack;
        const int64_t lower = p->prev_sent_ns < 0 ? 0 : std::max<int64_t>(0, p->prev_sent_ns - ack);
        const int64_t mid = std::clamp((p->sent_ns + now) / 2 - ack, lower, upper);
        lag.lag_ns.Record(upper);
        lag.lag_lower_ns.Record(lower);
        lag.lag_mid_ns.Record(mid);
      } else if (now >= deadline) {
        ++lag.timeouts;
      } else {
        // A failing edge is retried gently rather than in a hot loop.
        if (!p->status.ok()) absl::SleepFor(absl::Milliseconds(1));
        // Only an answer from the edge without the version moves the lower bound.
        if (absent) p->prev_sent_ns = p->sent_ns;
        Send(p, deadline);
        ++in_flight;
      }
    }
    return absl::OkStatus();
  }

 private:
  void Send(Poller* p, int64_t sample_deadline) {
    p->ctx.emplace();
    const int64_t now = NowNanos();
    const int64_t until =
        std::min(sample_deadline, now + absl::ToInt64Nanoseconds(options_.timeout));
    p->ctx->set_deadline(DeadlineAfterNanos(std::max<int64_t>(until - now, 1'000'000)));
    p->response.Clear();
    p->sent_ns = NowNanos();
    p->reader = p->stub->AsyncGet(&*p->ctx, p->request, &cq_);
    p->reader->Finish(&p->response, &p->status, p);
  }

  const LagOptions& options_;
  LagReport* const report_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<KV::Stub> central_;
  kvstore::v1::PutRequest put_;
  std::vector<std::unique_ptr<Poller>> pollers_;
};

void PrintProgress(const LagReport& report, int done, int total, const PacedWriter& writer,
                   int64_t start_ns) {
  const double elapsed = (NowNanos() - start_ns) / 1e9;
  std::string line = absl::StrFormat("[%6.1fs] lag %d/%d samples  background %.0f writes/s",
                                     elapsed, done, total, writer.acknowledged() / elapsed);
  for (const EdgeLag& e : report.edges) {
    absl::StrAppendFormat(&line, "  %s p50 %.0fus p99 %.0fus", e.target,
                          e.lag_ns.ValueAtQuantile(0.5) / 1e3,
                          e.lag_ns.ValueAtQuantile(0.99) / 1e3);
  }
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace

absl::StatusOr<LagReport> RunLag(const LagOptions& options) {
  if (options.edges.empty()) return absl::InvalidArgumentError("lag needs at least one --edge");
  LagReport report;
  report.load_average_before = LoadAverage();
  // Fail early and clearly when a node is not there.
  std::vector<std::string> all = options.edges;
  all.insert(all.begin(), options.central);
  if (auto c = Connections::Open(all, static_cast<int>(all.size()), options.connect_timeout);
      !c.ok()) {
    return c.status();
  }
  for (const auto& edge : options.edges) {
    report.edges.emplace_back();
    report.edges.back().target = edge;
  }

  KeySpace keys(options.keys);
  PacedWriter writer(NewDistinctChannel(options.central, 1000), &keys, options.background);
  Prober prober(options, &report);
  writer.Start();
  const int64_t start = NowNanos();
  if (options.progress) {
    std::fprintf(stderr, "lag: %.0f background writes/s, warming up for %s\n",
                 options.background.rate, absl::FormatDuration(options.warmup).c_str());
  }
  absl::SleepFor(options.warmup);

  // One unmeasured probe proves every edge replicates from this central node.
  std::vector<EdgeLag> check(options.edges.size());
  if (auto s = prober.Probe(0, &check, /*measured=*/false); !s.ok()) return s;
  for (size_t i = 0; i < check.size(); ++i) {
    if (check[i].samples == 0) {
      return absl::DeadlineExceededError(absl::StrCat(
          "edge ", options.edges[i], " did not serve a write acknowledged by ", options.central,
          " within ", absl::FormatDuration(options.sample_timeout),
          "; is it replicating from that node?",
          check[i].first_error.empty() ? "" : absl::StrCat(" (", check[i].first_error, ")")));
    }
  }

  std::mt19937_64 rng(options.seed);
  absl::Time next_progress = absl::Now() + options.progress_interval;
  for (int n = 1; n <= options.samples; ++n) {
    if (auto s = prober.Probe(n, &report.edges, /*measured=*/true); !s.ok()) {
      if (++report.probe_errors == 1) report.probe_first_error = std::string(s.message());
    }
    if (options.progress && absl::Now() >= next_progress) {
      PrintProgress(report, n, options.samples, writer, start);
      next_progress = absl::Now() + options.progress_interval;
    }
    absl::SleepFor(options.interval * (0.5 + bench::Uniform01(rng)));
  }
  writer.Stop();
  report.background = writer.stats();
  report.load_average_after = LoadAverage();
  return report;
}

}  // namespace kv::kvbench
