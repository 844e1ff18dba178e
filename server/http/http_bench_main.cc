// kv_http_bench: the HTTP gateway over an in-memory node, to measure the HTTP layer alone with
// wrk (no storage, no replication). Not a test; run by hand:
//   kv_http_bench --listen 127.0.0.1:8090 --threads 1 --keys 1000 --value-bytes 100
//   wrk -t2 -c64 -d10s http://127.0.0.1:8090/v1/kv/key-1
// --async completes every read on a separate thread, like a node answering from a gRPC thread.

#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <deque>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "server/http/gateway.h"

namespace kv::server {
namespace {

namespace pb = kvstore::v1;

class MemoryNode final : public Node {
 public:
  MemoryNode(int keys, size_t value_bytes, bool async) : async_(async) {
    for (int i = 0; i < keys; ++i) {
      pb::Entry& e = entries_[absl::StrCat("key-", i)];
      e.set_key(absl::StrCat("key-", i));
      e.set_value(std::string(value_bytes, static_cast<char>('a' + i % 26)));
      e.set_version(i + 1);
    }
    if (async_) worker_ = std::thread([this] { Loop(); });
  }
  ~MemoryNode() override {
    if (!async_) return;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    worker_.join();
  }

  void Get(const pb::GetRequest& request, pb::GetResponse* response, const CallContext&,
           Done done) override {
    pb::ReadInfo* info = response->mutable_info();
    info->set_source(pb::SOURCE_EDGE_CACHE);
    info->set_staleness_micros(1234);
    info->set_as_of_version(entries_.size());
    info->set_node_id("bench");
    auto it = entries_.find(request.key());
    if (it != entries_.end()) {
      response->set_found(true);
      *response->mutable_entry() = it->second;  // a copy, as a real cache would make
    }
    if (!async_) {
      std::move(done)(absl::OkStatus());
      return;
    }
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(done));
  }

  void BatchGet(const pb::BatchGetRequest&, pb::BatchGetResponse*, const CallContext&,
                Done done) override {
    std::move(done)(absl::UnimplementedError("bench"));
  }
  void Put(const pb::PutRequest&, pb::PutResponse*, const CallContext&, Done done) override {
    std::move(done)(absl::UnimplementedError("bench"));
  }
  void Delete(const pb::DeleteRequest&, pb::DeleteResponse*, const CallContext&,
              Done done) override {
    std::move(done)(absl::UnimplementedError("bench"));
  }
  void List(const pb::ListRequest&, pb::ListResponse*, const CallContext&, Done done) override {
    std::move(done)(absl::UnimplementedError("bench"));
  }
  void Fetch(const pb::FetchRequest&, pb::FetchResponse*, const CallContext&, Done done) override {
    std::move(done)(absl::UnimplementedError("bench"));
  }
  void GetStatus(pb::StatusResponse* status) override { status->set_role("bench"); }
  bool Ready(std::string*) override { return true; }

 private:
  void Loop() {
    while (true) {
      std::deque<Done> batch;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return done_ || !queue_.empty(); };
        mu_.Await(absl::Condition(&ready));
        if (queue_.empty()) return;
        batch.swap(queue_);
      }
      for (Done& d : batch) std::move(d)(absl::OkStatus());
    }
  }

  const bool async_;
  absl::flat_hash_map<std::string, pb::Entry> entries_;  // read-only after construction
  absl::Mutex mu_;
  std::deque<Done> queue_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace
}  // namespace kv::server

int main(int argc, char** argv) {
  CLI::App app("HTTP gateway benchmark server (in-memory node)");
  std::string listen = "127.0.0.1:8090";
  int threads = 1;
  int keys = 1000;
  size_t value_bytes = 100;
  bool async = false;
  double idle_timeout_seconds = 60;
  double write_timeout_seconds = 30;
  int max_connections = 4096;
  size_t max_pending_mib = 256;
  app.add_option("--listen", listen, "HOST:PORT");
  app.add_option("--threads", threads, "HTTP I/O threads");
  app.add_option("--keys", keys, "keys key-0 .. key-N-1");
  app.add_option("--value-bytes", value_bytes, "bytes per value");
  app.add_flag("--async", async, "complete reads on another thread");
  app.add_option("--idle-timeout", idle_timeout_seconds, "seconds; 0 = none");
  app.add_option("--write-timeout", write_timeout_seconds, "seconds; 0 = none");
  app.add_option("--max-connections", max_connections, "open connections at most");
  app.add_option("--max-pending-mib", max_pending_mib, "MiB of answers held for writing; 0 = none");
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  kv::server::MemoryNode node(keys, value_bytes, async);
  kv::server::Metrics metrics;
  kv::server::HttpServerOptions options;
  options.listen = listen;
  options.threads = threads;
  options.idle_timeout =
      idle_timeout_seconds > 0 ? absl::Seconds(idle_timeout_seconds) : absl::InfiniteDuration();
  options.write_timeout =
      write_timeout_seconds > 0 ? absl::Seconds(write_timeout_seconds) : absl::InfiniteDuration();
  options.max_connections = max_connections;
  options.max_pending_response_bytes = max_pending_mib > 0 ? max_pending_mib << 20 : SIZE_MAX;
  kv::server::HttpServer server(options);
  kv::server::RegisterGatewayRoutes(&server, &node, &metrics);
  if (absl::Status s = server.Start(); !s.ok()) {
    KV_LOG(ERROR) << s;
    return 1;
  }
  int signal = 0;
  sigwait(&signals, &signal);
  server.Stop();
  return 0;
}
