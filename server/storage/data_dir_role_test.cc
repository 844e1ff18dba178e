#include "server/storage/data_dir_role.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "tests/support/temp_dir.h"

namespace kv::server {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DataDirRole, ANewDirectoryIsCreatedAndStamped) {
  testing::TempDir dir;
  const std::string data = dir.Sub("a/b");
  ASSERT_TRUE(ClaimDataDir(data, DataDirRole::kEdgeFull).ok());
  EXPECT_THAT(ReadFile(data + "/KV_ROLE"), HasSubstr("role=edge-full\n"));
  EXPECT_FALSE(std::filesystem::exists(data + "/KV_ROLE.tmp"));
  auto role = ReadDataDirRole(data);
  ASSERT_TRUE(role.ok()) << role.status();
  EXPECT_EQ(*role, DataDirRole::kEdgeFull);
  // The same role again: fine, nothing rewritten.
  EXPECT_TRUE(ClaimDataDir(data, DataDirRole::kEdgeFull).ok());
}

TEST(DataDirRole, AnotherRoleIsRefusedNamingBothAndTheDirectory) {
  testing::TempDir dir;
  ASSERT_TRUE(ClaimDataDir(dir.path(), DataDirRole::kCentral).ok());
  const std::string before = ReadFile(dir.Sub("KV_ROLE"));
  for (DataDirRole other : {DataDirRole::kEdgeFull, DataDirRole::kEdgeCache}) {
    absl::Status s = ClaimDataDir(dir.path(), other);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(s.message(), HasSubstr("stamped for role 'central'"));
    EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("as role '", DataDirRoleName(other), "'")));
    EXPECT_THAT(s.message(), HasSubstr(dir.path()));
  }
  EXPECT_EQ(ReadFile(dir.Sub("KV_ROLE")), before);
}

TEST(DataDirRole, AnUnstampedDirectoryWithFilesIsAdopted) {
  testing::TempDir dir;
  std::ofstream(dir.Sub("CURRENT")) << "MANIFEST-000001\n";
  ASSERT_TRUE(ClaimDataDir(dir.path(), DataDirRole::kCentral).ok());
  EXPECT_THAT(ReadFile(dir.Sub("KV_ROLE")), HasSubstr("role=central\n"));
}

TEST(DataDirRole, AnUnknownOrMissingRoleIsRefused) {
  testing::TempDir dir;
  std::ofstream(dir.Sub("KV_ROLE")) << "role=witness\n";
  absl::Status s = ClaimDataDir(dir.path(), DataDirRole::kCentral);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("unknown role 'witness'"));
  std::ofstream(dir.Sub("KV_ROLE"), std::ios::trunc) << "# nothing\n";
  s = ClaimDataDir(dir.path(), DataDirRole::kCentral);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("names no role"));
}

TEST(DataDirRole, AFileInsteadOfADirectoryIsRefused) {
  testing::TempDir dir;
  std::ofstream(dir.Sub("file")) << "x";
  EXPECT_EQ(ClaimDataDir(dir.Sub("file"), DataDirRole::kCentral).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kv::server
