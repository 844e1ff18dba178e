#include "server/http/http_metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_test_client.h"

namespace kv::server {
namespace {

using ::kv::server::testing::TestHttpClient;
using ::testing::HasSubstr;

TEST(HttpMetricsTest, ExportsTheServerCounters) {
  HttpServerStats stats;
  stats.connections_open = 3;
  stats.connections_accepted = 10;
  stats.connections_refused = 4;
  stats.accept_errors = 5;
  stats.write_timeouts = 6;
  stats.answers_refused = 7;
  stats.pending_response_bytes = 8;
  Metrics metrics;
  const int id =
      metrics.AddCollector([&stats](MetricSink& sink) { ExportHttpServerStats(stats, sink); });
  const std::string text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("kv_http_connections_open 3"));
  EXPECT_THAT(text, HasSubstr("kv_http_connections_accepted_total 10"));
  EXPECT_THAT(text, HasSubstr("kv_http_connections_refused_total 4"));
  EXPECT_THAT(text, HasSubstr("kv_http_accept_errors_total 5"));
  EXPECT_THAT(text, HasSubstr("kv_http_write_timeouts_total 6"));
  EXPECT_THAT(text, HasSubstr("kv_http_answers_refused_total 7"));
  EXPECT_THAT(text, HasSubstr("kv_http_pending_response_bytes 8"));
  metrics.RemoveCollector(id);
}

TEST(HttpMetricsTest, CollectsFromALiveServer) {
  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  HttpServer server(options);
  server.Route("/x", [](const HttpRequest&, Responder r) {
    r.response().SetText(200, "x");
    r.Send();
  });
  ASSERT_TRUE(server.Start().ok());
  Metrics metrics;
  const int id = AddHttpServerCollector(metrics, &server);
  TestHttpClient client(server.port());
  ASSERT_TRUE(client.Connect().ok());
  ASSERT_TRUE(client.Get("/x").ok());
  const std::string text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("kv_http_connections_open 1"));
  EXPECT_THAT(text, HasSubstr("kv_http_connections_accepted_total 1"));
  metrics.RemoveCollector(id);
}

}  // namespace
}  // namespace kv::server
