#include "client/kvctl/bulk_put.h"

#include <gtest/gtest.h>

#include <sstream>

#include "client/kvctl/exit_codes.h"
#include "client/testing/fake_kv_server.h"

namespace kv::kvctl {
namespace {

using client::testing::FakeKvServer;
using client::testing::Method;

std::unique_ptr<client::Client> MakeClient(const FakeKvServer& server) {
  client::ClientOptions o;
  o.write_endpoint = server.address();
  return std::move(*client::Client::Create(o));
}

TEST(BulkPutTest, EveryLineIsAccountedFor) {
  FakeKvServer server;
  ASSERT_TRUE(server.Start().ok());
  server.Insert("taken", "x");
  auto c = MakeClient(server);
  std::string file;
  for (int i = 1; i <= 1000; ++i) {
    if (i == 500) {
      file += "{\"key\":\"k500\", \"valeu\":\"oops\"}\n";  // malformed
    } else if (i == 600) {
      file += "\n";  // blank
    } else if (i == 700) {
      file += "{\"key\":\"taken\",\"value\":\"v\",\"if_version\":0}\n";  // conditional loses
    } else {
      file += "{\"key\":\"k" + std::to_string(i) + "\",\"value\":\"v\",\"ttl\":\"30s\"}\n";
    }
  }
  std::istringstream in(file);
  std::ostringstream progress;
  BulkPutOptions options;
  options.window = 32;
  BulkPutReport report = RunBulkPut(*c, in, options, progress);
  EXPECT_TRUE(progress.str().empty());  // not a terminal
  EXPECT_EQ(report.lines, 1000);
  EXPECT_EQ(report.written.size(), 997u);
  EXPECT_EQ(report.blank, (std::vector<int64_t>{600}));
  ASSERT_EQ(report.failed.size(), 2u);
  EXPECT_EQ(report.failed.at(500).category, "malformed");
  EXPECT_EQ(report.failed.at(700).category, "FAILED_PRECONDITION");
  EXPECT_EQ(report.malformed(), 1);
  EXPECT_EQ(server.calls(Method::kPut), 998);
  EXPECT_EQ(BulkExitCode(report), kExitPartial);

  std::ostringstream out, err;
  PrintBulkReport(report, out, err);
  const std::string o = out.str();
  EXPECT_NE(o.find("bulk-put: 1000 lines, 997 written, 2 failed (1 malformed), 1 blank"),
            std::string::npos)
      << o;
  EXPECT_NE(o.find("written: 1-499,501-599,601-699,701-1000\n"), std::string::npos) << o;
  EXPECT_NE(o.find("failed: 500,700\n"), std::string::npos) << o;
  EXPECT_NE(o.find("  malformed: 500\n"), std::string::npos) << o;
  EXPECT_NE(o.find("  FAILED_PRECONDITION: 700\n"), std::string::npos) << o;
  EXPECT_NE(err.str().find("line 500: malformed: unknown field \"valeu\""), std::string::npos)
      << err.str();
  EXPECT_NE(err.str().find("line 700: FAILED_PRECONDITION: if_version"), std::string::npos);
}

TEST(BulkPutTest, CleanFileExitsZeroAndShowsProgressOnlyWhenAsked) {
  FakeKvServer server;
  ASSERT_TRUE(server.Start().ok());
  server.SetPutDelay(absl::Milliseconds(1));
  auto c = MakeClient(server);
  std::string file;
  for (int i = 1; i <= 300; ++i) {
    file += "{\"key\":\"k" + std::to_string(i) + "\",\"value_base64\":\"AAE=\"}\n";
  }
  std::istringstream in(file);
  std::ostringstream progress;
  BulkPutOptions options;
  options.window = 4;
  options.progress = true;
  options.progress_interval = absl::ZeroDuration();
  BulkPutReport report = RunBulkPut(*c, in, options, progress);
  EXPECT_EQ(report.written.size(), 300u);
  EXPECT_EQ(BulkExitCode(report), kExitOk);
  EXPECT_NE(progress.str().find("\rbulk-put: "), std::string::npos);
  EXPECT_NE(progress.str().find("puts/s"), std::string::npos);
  kvstore::v1::Entry e;
  ASSERT_TRUE(server.Lookup("k300", &e));
  EXPECT_EQ(e.value(), std::string("\0\x01", 2));
  std::ostringstream out, err;
  PrintBulkReport(report, out, err);
  EXPECT_NE(out.str().find("written: 1-300\n"), std::string::npos);
  EXPECT_EQ(out.str().find("failed:"), std::string::npos);
  EXPECT_TRUE(err.str().empty());
}

}  // namespace
}  // namespace kv::kvctl
