#include "server/metrics/metrics.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics/status_metrics.h"

namespace kv::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, RequestCountersAndHistogram) {
  Metrics metrics;
  metrics.RecordRequest(Method::kGet, absl::StatusCode::kOk, absl::Microseconds(20));
  metrics.RecordRequest(Method::kGet, absl::StatusCode::kOk, absl::Milliseconds(3));
  metrics.RecordRequest(Method::kGet, absl::StatusCode::kNotFound, absl::Milliseconds(1));
  metrics.RecordRequest(Method::kHttpGet, 14, absl::Seconds(20));
  const std::string text = metrics.Serialize();

  EXPECT_THAT(text, HasSubstr("# TYPE kv_requests_total counter"));
  EXPECT_THAT(text, HasSubstr("kv_requests_total{code=\"OK\",method=\"Get\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("kv_requests_total{code=\"NOT_FOUND\",method=\"Get\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kv_requests_total{code=\"UNAVAILABLE\",method=\"http_get\"} 1\n"));
  // Series are created on first use only.
  EXPECT_THAT(text, Not(HasSubstr("method=\"Put\"")));

  EXPECT_THAT(text, HasSubstr("# TYPE kv_request_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("kv_request_duration_seconds_count{method=\"Get\"} 3\n"));
  // 20us falls in le=2.5e-05; 1ms and 3ms later.
  EXPECT_THAT(text,
              HasSubstr("kv_request_duration_seconds_bucket{method=\"Get\",le=\"1e-05\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("kv_request_duration_seconds_bucket{method=\"Get\",le=\"2.5e-05\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("kv_request_duration_seconds_bucket{method=\"Get\",le=\"0.001\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("kv_request_duration_seconds_bucket{method=\"Get\",le=\"0.005\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("kv_request_duration_seconds_bucket{method=\"Get\",le=\"10\"} 3\n"));
  // 20 s is above the last bound: only +Inf counts it.
  EXPECT_THAT(text,
              HasSubstr("kv_request_duration_seconds_bucket{method=\"http_get\",le=\"10\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("kv_request_duration_seconds_bucket{method=\"http_get\",le=\"+Inf\"} 1\n"));
}

TEST(MetricsTest, OutOfRangeCodeCountsAsUnknown) {
  Metrics metrics;
  metrics.RecordRequest(Method::kPut, 99, absl::ZeroDuration());
  metrics.RecordRequest(Method::kPut, -1, absl::ZeroDuration());
  EXPECT_THAT(metrics.Serialize(),
              HasSubstr("kv_requests_total{code=\"UNKNOWN\",method=\"Put\"} 2\n"));
}

TEST(MetricsTest, MethodNames) {
  EXPECT_STREQ(MethodName(Method::kGet), "Get");
  EXPECT_STREQ(MethodName(Method::kBatchGet), "BatchGet");
  EXPECT_STREQ(MethodName(Method::kSubscribe), "Subscribe");
  EXPECT_STREQ(MethodName(Method::kStatus), "Status");
  EXPECT_STREQ(MethodName(Method::kHttpGet), "http_get");
}

TEST(MetricsTest, GroupCommit) {
  Metrics metrics;
  metrics.RecordGroupCommit(1, absl::Microseconds(400));
  metrics.RecordGroupCommit(3, absl::Milliseconds(2));
  metrics.RecordGroupCommit(100, absl::Milliseconds(4));
  const std::string text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("kv_group_commit_batch_size_bucket{le=\"1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kv_group_commit_batch_size_bucket{le=\"4\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("kv_group_commit_batch_size_bucket{le=\"64\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("kv_group_commit_batch_size_bucket{le=\"128\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("kv_group_commit_batch_size_sum 104\n"));
  EXPECT_THAT(text, HasSubstr("kv_group_commit_duration_seconds_count 3\n"));
  EXPECT_THAT(text, HasSubstr("kv_group_commit_duration_seconds_bucket{le=\"0.0005\"} 1\n"));
}

TEST(MetricsTest, BuildInfo) {
  Metrics metrics;
  EXPECT_THAT(metrics.Serialize(), HasSubstr("kv_build_info{version=\""));
}

TEST(MetricsTest, GenericFamilies) {
  Metrics metrics;
  prometheus::Counter& a = metrics.Counter("kv_test_events_total", "Events.", {{"kind", "a"}});
  prometheus::Counter& a_again =
      metrics.Counter("kv_test_events_total", "Events.", {{"kind", "a"}});
  EXPECT_EQ(&a, &a_again);
  a.Increment(2);
  metrics.Counter("kv_test_events_total", "Events.", {{"kind", "b"}}).Increment();
  metrics.Gauge("kv_test_level", "Level.").Set(7.5);
  metrics.Histogram("kv_test_sizes", "Sizes.", {10, 100}).Observe(50);
  const std::string text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("# HELP kv_test_events_total Events.\n"));
  EXPECT_THAT(text, HasSubstr("kv_test_events_total{kind=\"a\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("kv_test_events_total{kind=\"b\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE kv_test_level gauge\nkv_test_level 7.5\n"));
  EXPECT_THAT(text, HasSubstr("kv_test_sizes_bucket{le=\"10\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("kv_test_sizes_bucket{le=\"100\"} 1\n"));
}

TEST(MetricsDeathTest, TypeClashAborts) {
  Metrics metrics;
  metrics.Counter("kv_test_clash", "x");
  EXPECT_DEATH(metrics.Gauge("kv_test_clash", "x"), "registered as counter");
}

TEST(MetricsTest, CollectorValuesAndLabelRemoval) {
  Metrics metrics;
  std::vector<std::pair<std::string, double>> downstreams = {{"edge-1", 5}, {"edge-2", 0}};
  double staleness = 0.012;
  metrics.AddCollector([&](MetricSink& sink) {
    sink.Gauge("kv_staleness_seconds", "Staleness.", {}, staleness);
    for (const auto& [id, lag] : downstreams) {
      sink.Gauge("kv_downstream_lag_versions", "Lag.", {{"downstream", id}}, lag);
    }
    sink.Counter("kv_cache_hits_total", "Hits.", {}, 42);
  });
  std::string text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("# TYPE kv_staleness_seconds gauge\nkv_staleness_seconds 0.012\n"));
  EXPECT_THAT(text, HasSubstr("kv_downstream_lag_versions{downstream=\"edge-1\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("kv_downstream_lag_versions{downstream=\"edge-2\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE kv_cache_hits_total counter\nkv_cache_hits_total 42\n"));

  // edge-1 left: its series must be gone from the next scrape; values are re-read each scrape.
  downstreams = {{"edge-2", 3}};
  staleness = 2;
  text = metrics.Serialize();
  EXPECT_THAT(text, Not(HasSubstr("edge-1")));
  EXPECT_THAT(text, HasSubstr("kv_downstream_lag_versions{downstream=\"edge-2\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("kv_staleness_seconds 2\n"));

  // No downstreams: no family at all (no dangling HELP/TYPE lines).
  downstreams.clear();
  text = metrics.Serialize();
  EXPECT_THAT(text, Not(HasSubstr("kv_downstream_lag_versions")));
}

TEST(MetricsTest, SinkDropsBadNamesTypeClashesAndRegisteredNames) {
  Metrics metrics;
  metrics.Gauge("kv_registered", "Registered.").Set(1);
  metrics.AddCollector([](MetricSink& sink) {
    sink.Gauge("bad name", "x", {}, 1);
    sink.Gauge("kv_ok", "x", {{"bad-label", "v"}}, 1);
    sink.Gauge("kv_mixed", "x", {}, 1);
    sink.Counter("kv_mixed", "x", {{"a", "b"}}, 2);
    sink.Gauge("kv_registered", "x", {}, 99);
  });
  const std::string text = metrics.Serialize();
  EXPECT_THAT(text, Not(HasSubstr("bad name")));
  EXPECT_THAT(text, Not(HasSubstr("bad-label")));
  EXPECT_THAT(text, HasSubstr("kv_mixed 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("kv_mixed{a=\"b\"}")));
  EXPECT_THAT(text, HasSubstr("kv_registered 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("kv_registered 99")));
}

TEST(MetricsTest, RemoveCollector) {
  Metrics metrics;
  const int id = metrics.AddCollector([](MetricSink& sink) { sink.Gauge("kv_temp", "t", {}, 1); });
  EXPECT_THAT(metrics.Serialize(), HasSubstr("kv_temp 1"));
  metrics.RemoveCollector(id);
  EXPECT_THAT(metrics.Serialize(), Not(HasSubstr("kv_temp")));
}

TEST(MetricsTest, ConcurrentRecordingAndScrapes) {
  Metrics metrics;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 22000;  // a multiple of kMethodCount
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < kPerThread; ++i) {
        metrics.RecordRequest(static_cast<Method>(i % kMethodCount), (i + t) % 17,
                              absl::Microseconds(i % 1000));
      }
    });
  }
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(metrics.Serialize().empty());
  for (auto& thread : threads) thread.join();
  const std::string text = metrics.Serialize();
  // Every method saw kThreads * kPerThread / kMethodCount observations.
  for (int m = 0; m < kMethodCount; ++m) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("kv_request_duration_seconds_count{method=\"",
                                             MethodName(static_cast<Method>(m)), "\"} ",
                                             kThreads * kPerThread / kMethodCount, "\n")));
  }
}

TEST(StatusMetricsTest, ExportsStatusFields) {
  Metrics metrics;
  kvstore::v1::StatusResponse status;
  status.set_role("edge");
  status.set_mode("cache");
  status.set_node_id("edge-a");
  status.set_head_version(1234);
  status.set_ready(true);
  status.set_oldest_log_version(1000);
  status.set_log_entries(235);
  status.mutable_replication()->set_staleness_micros(12345);
  status.mutable_replication()->set_state("streaming");
  status.mutable_replication()->set_resets(2);
  status.mutable_cache()->set_hits(10);
  status.mutable_cache()->set_bytes_used(4096);
  auto* d = status.add_downstreams();
  d->set_node_id("edge-b");
  d->set_lag_versions(7);
  d->set_lag_micros(1500000);
  AddStatusCollector(metrics, [&status](kvstore::v1::StatusResponse* out) { *out = status; });

  std::string text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("kv_head_version 1234\n"));
  EXPECT_THAT(text, HasSubstr("kv_ready 1\n"));
  EXPECT_THAT(text, HasSubstr("kv_staleness_seconds 0.012345\n"));
  EXPECT_THAT(text, HasSubstr("kv_log_oldest_version 1000\n"));
  EXPECT_THAT(text, HasSubstr("kv_replication_state{state=\"streaming\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kv_replication_resets_total 2\n"));
  EXPECT_THAT(text, HasSubstr("kv_cache_hits_total 10\n"));
  EXPECT_THAT(text, HasSubstr("kv_cache_bytes 4096\n"));
  EXPECT_THAT(text, HasSubstr("kv_downstream_lag_versions{downstream=\"edge-b\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("kv_downstream_lag_seconds{downstream=\"edge-b\"} 1.5\n"));
  EXPECT_THAT(text, HasSubstr("node_id=\"edge-a\""));

  // A central node: no replication or cache sections, staleness 0, downstream gone.
  status.clear_replication();
  status.clear_cache();
  status.clear_downstreams();
  text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("kv_staleness_seconds 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("kv_cache_hits_total")));
  EXPECT_THAT(text, Not(HasSubstr("kv_replication_state")));
  EXPECT_THAT(text, Not(HasSubstr("edge-b")));
  EXPECT_THAT(text, HasSubstr("kv_downstreams 0\n"));
}

}  // namespace
}  // namespace kv::server
