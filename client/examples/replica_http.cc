// An API at the edge, answering from a LocalReplica inside its own process: the use this store
// was born from. Each request carries an API key; the handler looks the key up in the replica
// ("apikeys/<key>" holds the customer's id) and answers 401 at once for an unknown key, without a
// trip to the central node, then serves the customer's profile ("profiles/<id>"), also from
// memory. Reads are within the replica's staleness bound; nothing here talks to the network
// except the replica's own stream.
//
//   kv_example_replica_http --upstream 127.0.0.1:7000 --listen 127.0.0.1:8080 [--mode cache]
//   curl -H 'x-api-key: k-123' http://127.0.0.1:8080/profile
//
// Boost.Beast, synchronous, one thread per connection: the point is the handler, not the server.

// clang-format off
#include <utility>  // before Boost.Asio: its awaitable.hpp uses std::exchange unincluded
// clang-format on
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include "kv/local_replica.h"

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

http::response<http::string_body> Reply(http::status status, const std::string& body,
                                        const http::request<http::string_body>& request) {
  http::response<http::string_body> r{status, request.version()};
  r.set(http::field::content_type, "application/json");
  r.keep_alive(request.keep_alive());
  r.body() = body;
  r.prepare_payload();
  return r;
}

// The handler: authenticate by API key, then answer from the replica.
http::response<http::string_body> Handle(kv::client::LocalReplica& replica,
                                         const http::request<http::string_body>& request) {
  if (request.target() != "/profile") {
    return Reply(http::status::not_found, R"({"error":"no such route"})", request);
  }
  auto api_key = request.find("x-api-key");
  if (api_key == request.end() || api_key->value().empty()) {
    return Reply(http::status::unauthorized, R"({"error":"x-api-key is required"})", request);
  }
  auto customer = replica.Get("apikeys/" + std::string(api_key->value()));
  if (!customer.ok()) {  // the replica is too stale and its upstream is unreachable
    std::cerr << customer.status() << "\n";
    return Reply(http::status::service_unavailable, R"({"error":"try again later"})", request);
  }
  if (!customer->found) {
    return Reply(http::status::unauthorized, R"({"error":"unknown api key"})", request);
  }
  auto profile = replica.Get("profiles/" + customer->entry.value);
  if (!profile.ok() || !profile->found) {
    return Reply(http::status::not_found, R"({"error":"no profile"})", request);
  }
  return Reply(http::status::ok, profile->entry.value, request);
}

void Serve(kv::client::LocalReplica& replica, tcp::socket socket) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  while (true) {
    http::request<http::string_body> request;
    http::read(socket, buffer, request, ec);
    if (ec) return;
    auto response = Handle(replica, request);
    http::write(socket, response, ec);
    if (ec || !response.keep_alive()) return;
  }
}

std::string Flag(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  kv::client::LocalReplicaOptions options;
  options.upstream = Flag(argc, argv, "--upstream", "127.0.0.1:7000");
  options.mode = Flag(argc, argv, "--mode", "full") == "cache" ? kv::client::ReplicaMode::kCache
                                                               : kv::client::ReplicaMode::kFull;
  options.bearer_token = Flag(argc, argv, "--token", "");
  const std::string listen = Flag(argc, argv, "--listen", "127.0.0.1:8080");
  auto replica = kv::client::LocalReplica::Create(options);
  if (!replica.ok()) {
    std::cerr << replica.status() << "\n";
    return 1;
  }
  if (auto s = (*replica)->WaitUntilReady(absl::Seconds(30)); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  const auto colon = listen.rfind(':');
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, {boost::asio::ip::make_address(listen.substr(0, colon)),
                              static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)))});
  std::cerr << "serving http://" << listen << "/profile from a local replica of "
            << options.upstream << " (" << (*replica)->Status().keys << " keys)\n";
  while (true) {
    tcp::socket socket(io);
    acceptor.accept(socket);
    std::thread(Serve, std::ref(**replica), std::move(socket)).detach();
  }
}
