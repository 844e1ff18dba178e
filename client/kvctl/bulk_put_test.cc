#include "client/kvctl/bulk_put.h"

#include <gtest/gtest.h>

#include <sstream>

#include "client/kvctl/exit_codes.h"
#include "client/testing/fake_kv_server.h"
#include "client/testing/hang_up_server.h"

namespace kv::kvctl {
namespace {

using client::testing::FakeKvServer;
using client::testing::HangUpServer;
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

// Writes whose answer was lost are neither "written" nor "failed": they are counted apart, named
// with their keys, saved for a re-run, and change the exit status.
TEST(BulkPutTest, UnknownOutcomesAreCountedApartAndSaved) {
  FakeKvServer server;
  ASSERT_TRUE(server.Start().ok());
  auto c = MakeClient(server);
  std::string file;
  for (int i = 1; i <= 10; ++i) {
    const std::string n = std::to_string(i);
    file += i == 5 ? "{\"key\":\"k5\"}\n"  // malformed: no value
                   : "{\"key\":\"k" + n + "\",\"value\":\"v" + n + "\"}\n";
  }
  // One Put at a time, so the injections hit lines 1 and 2: line 1 is rejected before anything
  // is applied; line 2 is applied, then its answer is lost.
  server.FailNext(Method::kPut, 1, grpc::StatusCode::RESOURCE_EXHAUSTED, "value: too large");
  server.FailAfterApplyNext(Method::kPut, 1, grpc::StatusCode::UNAVAILABLE, "Socket closed");
  std::istringstream in(file);
  std::ostringstream progress;
  BulkPutOptions options;
  options.window = 1;
  options.keep_unknown_lines = true;
  BulkPutReport report = RunBulkPut(*c, in, options, progress);
  EXPECT_EQ(report.lines, 10);
  EXPECT_EQ(report.written, (std::vector<int64_t>{3, 4, 6, 7, 8, 9, 10}));
  ASSERT_EQ(report.failed.size(), 2u);
  EXPECT_EQ(report.failed.at(1).category, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(report.failed.at(5).category, "malformed");
  ASSERT_EQ(report.unknown.size(), 1u);
  EXPECT_EQ(report.unknown.at(2).category, "UNAVAILABLE");
  EXPECT_EQ(report.unknown.at(2).key, "k2");
  EXPECT_EQ(report.unknown.at(2).message, "Socket closed");
  EXPECT_EQ(BulkExitCode(report), kExitOutcomeUnknown);
  kvstore::v1::Entry e;
  EXPECT_FALSE(server.Lookup("k1", &e));  // failed means not written
  EXPECT_TRUE(server.Lookup("k2", &e));   // unknown, and here in fact written

  std::ostringstream out, err, saved;
  PrintBulkReport(report, out, err);
  WriteUnknownLines(report, saved);
  const std::string o = out.str();
  EXPECT_NE(
      o.find("bulk-put: 10 lines, 7 written, 2 failed (1 malformed), 1 outcome unknown, 0 blank"),
      std::string::npos)
      << o;
  EXPECT_NE(o.find("written: 3-4,6-10\n"), std::string::npos) << o;
  EXPECT_NE(o.find("failed: 1,5\n"), std::string::npos) << o;
  EXPECT_NE(o.find("outcome unknown: 2\n  UNAVAILABLE: 2\n"), std::string::npos) << o;
  EXPECT_NE(err.str().find("line 1: RESOURCE_EXHAUSTED: value: too large\n"), std::string::npos)
      << err.str();
  EXPECT_NE(err.str().find("line 2: outcome unknown: UNAVAILABLE: Socket closed; key: k2\n"),
            std::string::npos)
      << err.str();
  EXPECT_EQ(saved.str(), "{\"key\":\"k2\",\"value\":\"v2\"}\n");
}

// A node that closes the connection after receiving Puts: every Put sent is unknown, not failed.
TEST(BulkPutTest, APeerThatHangsUpLeavesEveryPutUnknown) {
  HangUpServer dying("bulk/");
  ASSERT_TRUE(dying.ok());
  client::ClientOptions o;
  o.write_endpoint = dying.address();
  auto c = std::move(*client::Client::Create(o));
  std::string file;
  for (int i = 1; i <= 5; ++i)
    file += "{\"key\":\"bulk/" + std::to_string(i) + "\",\"value\":\"v\"}\n";
  std::istringstream in(file);
  std::ostringstream progress;
  BulkPutOptions options;
  options.window = 1;
  BulkPutReport report = RunBulkPut(*c, in, options, progress);
  EXPECT_TRUE(report.written.empty());
  EXPECT_TRUE(report.failed.empty()) << report.failed.begin()->second.message;
  EXPECT_EQ(report.unknown.size(), 5u);
  EXPECT_GE(dying.hang_ups(), 1);
  EXPECT_EQ(report.unknown.at(3).key, "bulk/3");
  EXPECT_EQ(report.unknown.at(3).text, "");  // keep_unknown_lines is off
  EXPECT_EQ(BulkExitCode(report), kExitOutcomeUnknown);
}

TEST(BulkPutTest, ExitCodeOrder) {
  BulkPutReport report;
  EXPECT_EQ(BulkExitCode(report), kExitOk);
  report.blank = {1};
  EXPECT_EQ(BulkExitCode(report), kExitOk);
  report.failed[2] = {"malformed", "x"};
  EXPECT_EQ(BulkExitCode(report), kExitPartial);
  report.unknown[3] = {"DEADLINE_EXCEEDED", "Deadline Exceeded", "k", ""};
  EXPECT_EQ(BulkExitCode(report), kExitOutcomeUnknown);
  report.failed.clear();
  EXPECT_EQ(BulkExitCode(report), kExitOutcomeUnknown);
}

}  // namespace
}  // namespace kv::kvctl
