#pragma once
// The node's metrics, exported in Prometheus text format at GET /metrics.
//
// Three kinds of series:
//  - hot-path request and group-commit metrics with fixed names, recorded through
//    RecordRequest/RecordGroupCommit: one atomic load plus the prometheus update per call, no
//    label lookups (children are cached in tables indexed by Method and status code);
//  - generic counters, gauges and histograms created by name, for code that records events
//    itself (create them once and keep the reference: creation takes locks);
//  - scrape-time values: collectors registered with AddCollector run on every Serialize and
//    report the node's live state (versions, staleness, lag per downstream, cache counters) into
//    a MetricSink. Only what a collector reports in this scrape is exported, so a label set
//    that disappears (a downstream that left) disappears from the output.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/labels.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace kv::server {

// The request kinds counted in kv_requests_total / kv_request_duration_seconds.
enum class Method : uint8_t {
  kGet,
  kBatchGet,
  kPut,
  kDelete,
  kList,
  kFetch,
  kSubscribe,
  kSnapshot,
  kStatus,
  kHttpGet,
  kCommit,
};
inline constexpr int kMethodCount = 11;

// The label value: "Get", "BatchGet", ..., "http_get".
const char* MethodName(Method method);

// Receives the values a collector reports during one scrape. Series with the same name are
// grouped into one family; the first report of a name fixes its help and type (a later report of
// the same name with the other type is dropped). Names must be valid Prometheus metric names
// (invalid ones are dropped), and must not collide with a registered family (the registered one
// wins).
class MetricSink {
 public:
  using Labels = std::map<std::string, std::string>;

  // A value that can go up and down (a version, a lag, a byte count).
  void Gauge(absl::string_view name, absl::string_view help, const Labels& labels, double value);
  // A monotonic total the caller keeps itself (name it *_total).
  void Counter(absl::string_view name, absl::string_view help, const Labels& labels, double value);

  // The families reported so far, in first-report order.
  std::vector<prometheus::MetricFamily>& families() { return families_; }

 private:
  void Add(prometheus::MetricType type, absl::string_view name, absl::string_view help,
           const Labels& labels, double value);

  std::vector<prometheus::MetricFamily> families_;
  absl::flat_hash_map<std::string, size_t> index_;
};

class Metrics {
 public:
  using Collector = std::function<void(MetricSink&)>;

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Bucket bounds (seconds) of the latency histograms: 10us .. 10s.
  static const std::vector<double>& LatencyBuckets();
  // Bucket bounds of kv_group_commit_batch_size: 1, 2, 4, ..., 4096 writes.
  static const std::vector<double>& BatchSizeBuckets();

  // kv_requests_total{method,code} += 1 and kv_request_duration_seconds{method} observes
  // `elapsed`. Thread-safe and lock-free after the first call for a given (method, code). Codes
  // are the gRPC/absl canonical codes (0..16, same numbering); the label is "OK", "NOT_FOUND"...
  void RecordRequest(Method method, absl::StatusCode code, absl::Duration elapsed);
  void RecordRequest(Method method, int code, absl::Duration elapsed);
  // One group commit: `writes` writes in one batch, taking `elapsed` (including the sync).
  void RecordGroupCommit(size_t writes, absl::Duration elapsed);

  // Generic families, created on first use; a later call with the same name returns the same
  // family. Reusing a name with another type is a programming error and aborts, as do invalid
  // names and labels.
  prometheus::Family<prometheus::Counter>& CounterFamily(const std::string& name,
                                                         const std::string& help);
  prometheus::Family<prometheus::Gauge>& GaugeFamily(const std::string& name,
                                                     const std::string& help);
  prometheus::Family<prometheus::Histogram>& HistogramFamily(const std::string& name,
                                                             const std::string& help);
  // One series of a generic family; the returned reference lives as long as this object.
  prometheus::Counter& Counter(const std::string& name, const std::string& help,
                               const prometheus::Labels& labels = {});
  prometheus::Gauge& Gauge(const std::string& name, const std::string& help,
                           const prometheus::Labels& labels = {});
  prometheus::Histogram& Histogram(const std::string& name, const std::string& help,
                                   const std::vector<double>& buckets,
                                   const prometheus::Labels& labels = {});

  // Runs `collector` on every Serialize (one scrape at a time, in registration order). A
  // collector must not call AddCollector/RemoveCollector/Serialize. Returns an id for
  // RemoveCollector.
  int AddCollector(Collector collector);
  // Returns after any running scrape finished using it.
  void RemoveCollector(int id);

  // All series in Prometheus text exposition format (version 0.0.4).
  std::string Serialize() const;

  prometheus::Registry& registry() { return *registry_; }

 private:
  static constexpr int kCodeCount = 17;

  prometheus::Counter* RequestCounter(Method method, int code);
  prometheus::Histogram* RequestHistogram(Method method);
  template <typename T>
  prometheus::Family<T>& FamilyOf(const std::string& name, const std::string& help);

  const std::shared_ptr<prometheus::Registry> registry_;
  // Declared before the family references below: the constructor creates them through mu_.
  absl::Mutex mu_;
  // Generic families by name, with their type (so a clash is caught before prometheus sees it).
  absl::flat_hash_map<std::string, std::pair<prometheus::MetricType, void*>> families_
      ABSL_GUARDED_BY(mu_);
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_duration_;
  prometheus::Histogram& batch_size_;
  prometheus::Histogram& commit_duration_;

  // Cached children; null until first used. Written once under mu_.
  std::array<std::array<std::atomic<prometheus::Counter*>, kCodeCount>, kMethodCount>
      request_counters_{};
  std::array<std::atomic<prometheus::Histogram*>, kMethodCount> request_histograms_{};

  mutable absl::Mutex collectors_mu_;
  std::vector<std::pair<int, Collector>> collectors_ ABSL_GUARDED_BY(collectors_mu_);
  int next_collector_id_ ABSL_GUARDED_BY(collectors_mu_) = 1;
};

}  // namespace kv::server
