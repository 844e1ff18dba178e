// The gRPC floor: a KV server that answers every call at once with an empty message and does
// nothing else, built like kvd's (the callback API, the same server options). What a node
// serves per second over gRPC on this machine can be no more than this, so node figures are
// reported as a ratio of it, measured in the same run (docs/BENCHMARKS.md).
//
//   kv_floor_server --listen 127.0.0.1:7999 [--ready-file F]
//   kvbench run --target 127.0.0.1:7999 --workload write ...
//
// A Put answers version 1, a Get "not found", so kvbench's checks pass without a store.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "kvstore/v1/kv.grpc.pb.h"

namespace {

namespace pb = kvstore::v1;

class FloorService final : public pb::KV::CallbackService {
  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context) {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 public:
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* c, const pb::GetRequest*,
                                pb::GetResponse*) override {
    return Done(c);
  }
  grpc::ServerUnaryReactor* BatchGet(grpc::CallbackServerContext* c, const pb::BatchGetRequest* r,
                                     pb::BatchGetResponse* response) override {
    for (int i = 0; i < r->keys_size(); ++i) response->add_results();
    return Done(c);
  }
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* c, const pb::PutRequest*,
                                pb::PutResponse* response) override {
    response->set_version(1);
    return Done(c);
  }
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* c, const pb::DeleteRequest*,
                                   pb::DeleteResponse*) override {
    return Done(c);
  }
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* c, const pb::ListRequest*,
                                 pb::ListResponse*) override {
    return Done(c);
  }
};

std::string Flag(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string listen = Flag(argc, argv, "--listen", "127.0.0.1:7999");
  const std::string ready_file = Flag(argc, argv, "--ready-file", "");
  FloorService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  // As kvd sets them (server/kvd/serve.cc).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "cannot listen on " << listen << "\n";
    return 1;
  }
  const std::string address = listen.substr(0, listen.rfind(':')) + ":" + std::to_string(port);
  if (!ready_file.empty()) std::ofstream(ready_file) << address << "\n";
  std::cerr << "floor server on " << address << "\n";
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int signal = 0;
  sigwait(&signals, &signal);
  server->Shutdown();
  return 0;
}
