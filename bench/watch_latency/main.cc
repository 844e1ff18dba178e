// watch_latency: change-to-watcher latency at one node with many watchers (docs/BENCHMARKS.md).
//
//   watch_latency --write 127.0.0.1:7000 --watch 127.0.0.1:7101 --watchers 1000 --writes 300
//
// Opens --watchers KV.Watch streams of one prefix at --watch (callback reactors over a few
// channels: no thread per watcher), then puts --writes keys of that prefix at --write, one every
// --interval. For every (change, watcher) it records when the watcher received the change and
// reports, in milliseconds:
//   put->watcher   from just before the Put was sent to the watcher's receipt: the commit, the
//                  replication to the watched node, and its fan-out;
//   first->watcher from the first watcher's receipt of that change to each watcher's: what the
//                  node's fan-out to N watchers adds beyond its own propagation delay.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "kvstore/v1/kv.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
      .count();
}

// One watcher: records (version, receipt time) of every event.
class Watcher final : public grpc::ClientReadReactor<kvstore::v1::WatchResponse> {
 public:
  Watcher(kvstore::v1::KV::Stub* stub, const std::string& prefix, size_t expected) {
    request_.set_prefix(prefix);
    received_.reserve(expected);
    stub->async()->Watch(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    const int64_t now = NowMicros();
    if (response_.events_size() == 0) started_.store(true);
    for (const auto& e : response_.events()) received_.push_back({e.version(), now});
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& s) override {
    absl::MutexLock l(&mu_);
    status_ = s;
    done_ = true;
  }
  void Cancel() { context_.TryCancel(); }
  void AwaitDone() {
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(&done_));
  }
  bool started() const { return started_.load(); }
  // Only after AwaitDone.
  const std::vector<std::pair<uint64_t, int64_t>>& received() const { return received_; }
  grpc::Status status() {
    absl::MutexLock l(&mu_);
    return status_;
  }

 private:
  grpc::ClientContext context_;
  kvstore::v1::WatchRequest request_;
  kvstore::v1::WatchResponse response_;
  std::vector<std::pair<uint64_t, int64_t>> received_;  // reactor callbacks only
  std::atomic<bool> started_{false};
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  std::string write_address = "127.0.0.1:7000";
  std::string watch_address;
  int watchers = 1000;
  int writes = 300;
  int interval_ms = 20;
  int channels = 8;
  std::string prefix = "bench/watch/";
  CLI::App app("Change-to-watcher latency with many watchers at one node");
  app.add_option("--write", write_address, "Where the puts go (the central node)")
      ->capture_default_str();
  app.add_option("--watch", watch_address, "The node whose watchers are measured (an edge)")
      ->required();
  app.add_option("--watchers", watchers, "Watch streams at --watch")->capture_default_str();
  app.add_option("--writes", writes, "Puts to measure")->capture_default_str();
  app.add_option("--interval-ms", interval_ms, "Pause between puts")->capture_default_str();
  app.add_option("--channels", channels, "gRPC connections the watchers share")
      ->capture_default_str();
  app.add_option("--prefix", prefix, "Key prefix written and watched")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<std::unique_ptr<kvstore::v1::KV::Stub>> stubs;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("kv.watch_latency.channel", i);  // distinct arguments: distinct connections
    stubs.push_back(kvstore::v1::KV::NewStub(
        grpc::CreateCustomChannel(watch_address, grpc::InsecureChannelCredentials(), args)));
  }
  std::vector<std::unique_ptr<Watcher>> all;
  for (int i = 0; i < watchers; ++i) {
    all.push_back(std::make_unique<Watcher>(stubs[i % channels].get(), prefix, writes));
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  for (auto& w : all) {
    while (!w->started() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
    if (!w->started()) {
      std::fprintf(stderr, "a watcher did not start: is %s serving?\n", watch_address.c_str());
      return 1;
    }
  }

  auto writer = kvstore::v1::KV::NewStub(
      grpc::CreateChannel(write_address, grpc::InsecureChannelCredentials()));
  absl::flat_hash_map<uint64_t, int64_t> sent;  // version -> time just before the Put
  for (int i = 0; i < writes; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    kvstore::v1::PutRequest put;
    put.set_key(absl::StrCat(prefix, i % 100));
    put.set_value(std::string(100, 'v'));
    kvstore::v1::PutResponse answer;
    const int64_t t0 = NowMicros();
    grpc::Status s = writer->Put(&ctx, put, &answer);
    if (!s.ok()) {
      std::fprintf(stderr, "put failed: %s\n", s.error_message().c_str());
      return 1;
    }
    sent[answer.version()] = t0;
    absl::SleepFor(absl::Milliseconds(interval_ms));
  }
  absl::SleepFor(absl::Seconds(2));  // the last changes reach every watcher
  for (auto& w : all) w->Cancel();
  for (auto& w : all) w->AwaitDone();

  absl::flat_hash_map<uint64_t, int64_t> first;
  size_t missing = 0;
  for (auto& w : all) {
    for (auto [v, t] : w->received()) {
      auto [it, inserted] = first.try_emplace(v, t);
      if (!inserted) it->second = std::min(it->second, t);
    }
    if (w->received().size() < sent.size()) missing += sent.size() - w->received().size();
  }
  std::vector<double> total, spread;
  for (auto& w : all) {
    for (auto [v, t] : w->received()) {
      auto s = sent.find(v);
      if (s == sent.end()) continue;
      total.push_back((t - s->second) / 1000.0);
      spread.push_back((t - first[v]) / 1000.0);
    }
  }
  std::printf("watchers=%d writes=%d deliveries=%zu missing=%zu\n", watchers, writes, total.size(),
              missing);
  std::printf("put->watcher   ms: p50 %.3f  p99 %.3f  max %.3f\n", Percentile(total, 0.5),
              Percentile(total, 0.99), Percentile(total, 1.0));
  std::printf("first->watcher ms: p50 %.3f  p99 %.3f  max %.3f\n", Percentile(spread, 0.5),
              Percentile(spread, 0.99), Percentile(spread, 1.0));
  return missing == 0 ? 0 : 2;
}
