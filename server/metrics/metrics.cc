#include "server/metrics/metrics.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "common/build_info.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "prometheus/check_names.h"
#include "prometheus/text_serializer.h"

namespace kv::server {
namespace {

constexpr const char* kMethodNames[kMethodCount] = {
    "Get",       "BatchGet", "Put",    "Delete",   "List",   "Fetch",
    "Subscribe", "Snapshot", "Status", "http_get", "Commit",
};

const char* MetricTypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Histogram:
      return "histogram";
    default:
      return "other";
  }
}

template <typename T>
constexpr prometheus::MetricType TypeOf();
template <>
constexpr prometheus::MetricType TypeOf<prometheus::Counter>() {
  return prometheus::MetricType::Counter;
}
template <>
constexpr prometheus::MetricType TypeOf<prometheus::Gauge>() {
  return prometheus::MetricType::Gauge;
}
template <>
constexpr prometheus::MetricType TypeOf<prometheus::Histogram>() {
  return prometheus::MetricType::Histogram;
}

template <typename T>
prometheus::Family<T>& Build(const std::string& name, const std::string& help,
                             prometheus::Registry& registry) {
  if constexpr (std::is_same_v<T, prometheus::Counter>) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
  } else if constexpr (std::is_same_v<T, prometheus::Gauge>) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
  } else {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
  }
}

}  // namespace

const char* MethodName(Method method) {
  const int i = static_cast<int>(method);
  return i >= 0 && i < kMethodCount ? kMethodNames[i] : "unknown";
}

void MetricSink::Gauge(absl::string_view name, absl::string_view help, const Labels& labels,
                       double value) {
  Add(prometheus::MetricType::Gauge, name, help, labels, value);
}

void MetricSink::Counter(absl::string_view name, absl::string_view help, const Labels& labels,
                         double value) {
  Add(prometheus::MetricType::Counter, name, help, labels, value);
}

void MetricSink::Add(prometheus::MetricType type, absl::string_view name, absl::string_view help,
                     const Labels& labels, double value) {
  auto it = index_.find(name);
  if (it == index_.end()) {
    std::string family_name(name);
    if (!prometheus::CheckMetricName(family_name)) return;
    for (const auto& [label, unused] : labels) {
      if (!prometheus::CheckLabelName(label)) return;
    }
    it = index_.emplace(family_name, families_.size()).first;
    prometheus::MetricFamily& family = families_.emplace_back();
    family.name = std::move(family_name);
    family.help = std::string(help);
    family.type = type;
  }
  prometheus::MetricFamily& family = families_[it->second];
  if (family.type != type) return;
  for (const auto& [label, unused] : labels) {
    if (!prometheus::CheckLabelName(label)) return;
  }
  prometheus::ClientMetric& metric = family.metric.emplace_back();
  metric.label.reserve(labels.size());
  for (const auto& [label, label_value] : labels) metric.label.push_back({label, label_value});
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
}

const std::vector<double>& Metrics::LatencyBuckets() {
  static const auto* const kBuckets = new std::vector<double>{
      10e-6, 25e-6, 50e-6,  100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3,
      25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1.0,    2.5,  5.0,    10.0};
  return *kBuckets;
}

const std::vector<double>& Metrics::BatchSizeBuckets() {
  static const auto* const kBuckets = [] {
    auto* buckets = new std::vector<double>;
    for (double b = 1; b <= 4096; b *= 2) buckets->push_back(b);
    return buckets;
  }();
  return *kBuckets;
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(FamilyOf<prometheus::Counter>("kv_requests_total",
                                              "Requests finished, by method and status code.")),
      request_duration_(FamilyOf<prometheus::Histogram>(
          "kv_request_duration_seconds", "Time from receiving a request to its answer.")),
      batch_size_(Histogram("kv_group_commit_batch_size", "Writes committed per group commit.",
                            BatchSizeBuckets())),
      commit_duration_(Histogram("kv_group_commit_duration_seconds",
                                 "Time to write and sync one group commit.", LatencyBuckets())) {
  Gauge("kv_build_info", "Build of the running binary (value is always 1).",
        {{"version", kBuildVersion}})
      .Set(1);
}

Metrics::~Metrics() = default;

void Metrics::RecordRequest(Method method, absl::StatusCode code, absl::Duration elapsed) {
  RecordRequest(method, static_cast<int>(code), elapsed);
}

void Metrics::RecordRequest(Method method, int code, absl::Duration elapsed) {
  const int m = static_cast<int>(method);
  if (m < 0 || m >= kMethodCount) return;
  if (code < 0 || code >= kCodeCount) code = static_cast<int>(absl::StatusCode::kUnknown);
  prometheus::Counter* counter = request_counters_[m][code].load(std::memory_order_acquire);
  if (counter == nullptr) counter = RequestCounter(method, code);
  counter->Increment();
  prometheus::Histogram* histogram = request_histograms_[m].load(std::memory_order_acquire);
  if (histogram == nullptr) histogram = RequestHistogram(method);
  histogram->Observe(absl::ToDoubleSeconds(elapsed));
}

void Metrics::RecordGroupCommit(size_t writes, absl::Duration elapsed) {
  batch_size_.Observe(static_cast<double>(writes));
  commit_duration_.Observe(absl::ToDoubleSeconds(elapsed));
}

prometheus::Counter* Metrics::RequestCounter(Method method, int code) {
  absl::MutexLock lock(&mu_);
  auto& slot = request_counters_[static_cast<int>(method)][code];
  prometheus::Counter* counter = slot.load(std::memory_order_relaxed);
  if (counter == nullptr) {
    counter = &requests_.Add({{"method", MethodName(method)},
                              {"code", GrpcCodeName(static_cast<grpc::StatusCode>(code))}});
    slot.store(counter, std::memory_order_release);
  }
  return counter;
}

prometheus::Histogram* Metrics::RequestHistogram(Method method) {
  absl::MutexLock lock(&mu_);
  auto& slot = request_histograms_[static_cast<int>(method)];
  prometheus::Histogram* histogram = slot.load(std::memory_order_relaxed);
  if (histogram == nullptr) {
    histogram = &request_duration_.Add({{"method", MethodName(method)}}, LatencyBuckets());
    slot.store(histogram, std::memory_order_release);
  }
  return histogram;
}

template <typename T>
prometheus::Family<T>& Metrics::FamilyOf(const std::string& name, const std::string& help) {
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second.first != TypeOf<T>()) {
      KV_LOG(FATAL) << "metric " << name << " registered as " << MetricTypeName(it->second.first)
                    << " and as " << MetricTypeName(TypeOf<T>());
    }
    return *static_cast<prometheus::Family<T>*>(it->second.second);
  }
  prometheus::Family<T>& family = Build<T>(name, help, *registry_);
  families_.emplace(name, std::make_pair(TypeOf<T>(), static_cast<void*>(&family)));
  return family;
}

prometheus::Family<prometheus::Counter>& Metrics::CounterFamily(const std::string& name,
                                                                const std::string& help) {
  return FamilyOf<prometheus::Counter>(name, help);
}

prometheus::Family<prometheus::Gauge>& Metrics::GaugeFamily(const std::string& name,
                                                            const std::string& help) {
  return FamilyOf<prometheus::Gauge>(name, help);
}

prometheus::Family<prometheus::Histogram>& Metrics::HistogramFamily(const std::string& name,
                                                                    const std::string& help) {
  return FamilyOf<prometheus::Histogram>(name, help);
}

prometheus::Counter& Metrics::Counter(const std::string& name, const std::string& help,
                                      const prometheus::Labels& labels) {
  return CounterFamily(name, help).Add(labels);
}

prometheus::Gauge& Metrics::Gauge(const std::string& name, const std::string& help,
                                  const prometheus::Labels& labels) {
  return GaugeFamily(name, help).Add(labels);
}

prometheus::Histogram& Metrics::Histogram(const std::string& name, const std::string& help,
                                          const std::vector<double>& buckets,
                                          const prometheus::Labels& labels) {
  return HistogramFamily(name, help).Add(labels, buckets);
}

int Metrics::AddCollector(Collector collector) {
  absl::MutexLock lock(&collectors_mu_);
  const int id = next_collector_id_++;
  collectors_.emplace_back(id, std::move(collector));
  return id;
}

void Metrics::RemoveCollector(int id) {
  Collector removed;  // destroyed after the lock is released
  absl::MutexLock lock(&collectors_mu_);
  auto it = std::find_if(collectors_.begin(), collectors_.end(),
                         [id](const auto& entry) { return entry.first == id; });
  if (it != collectors_.end()) {
    removed = std::move(it->second);
    collectors_.erase(it);
  }
}

std::string Metrics::Serialize() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  MetricSink sink;
  {
    absl::MutexLock lock(&collectors_mu_);
    for (const auto& [id, collector] : collectors_) collector(sink);
  }
  std::vector<prometheus::MetricFamily>& reported = sink.families();
  families.reserve(families.size() + reported.size());  // keeps `registered` valid
  absl::flat_hash_set<absl::string_view> registered;
  for (const auto& family : families) registered.insert(family.name);
  for (auto& family : reported) {
    if (family.metric.empty() || registered.contains(family.name)) continue;
    families.push_back(std::move(family));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return std::move(out).str();
}

}  // namespace kv::server
