#include "common/tls/credential_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kv::tls {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t MtimeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_mtime;
}

TEST(CredentialDirTest, PublishSwitchesGenerationsWithIncreasingTimes) {
  std::string dir_path;
  {
    auto dir = CredentialDir::Create("");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_path = (*dir)->dir();
    struct stat st {};
    ASSERT_EQ(::stat(dir_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    ASSERT_TRUE((*dir)->Publish({"cert-1", "key-1", "ca-1"}).ok());
    EXPECT_EQ(Read((*dir)->cert_path()), "cert-1");
    EXPECT_EQ(Read((*dir)->key_path()), "key-1");
    EXPECT_EQ(Read((*dir)->ca_path()), "ca-1");
    ASSERT_EQ(::stat((*dir)->key_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    int64_t previous = MtimeOf((*dir)->key_path());

    // Published within the same second, yet each generation's files are strictly later: gRPC's
    // reader notices a switch in the middle of its two reads.
    for (int i = 2; i <= 6; ++i) {
      const std::string n = std::to_string(i);
      ASSERT_TRUE((*dir)->Publish({"cert-" + n, "key-" + n, ""}).ok());
      EXPECT_EQ(Read((*dir)->cert_path()), "cert-" + n);
      EXPECT_EQ(Read((*dir)->key_path()), "key-" + n);
      EXPECT_FALSE(std::filesystem::exists((*dir)->ca_path()));  // empty: not written
      const int64_t mtime = MtimeOf((*dir)->key_path());
      EXPECT_GT(mtime, previous);
      EXPECT_EQ(MtimeOf((*dir)->cert_path()), mtime);
      previous = mtime;
    }
    EXPECT_EQ((*dir)->generation(), 6);
    // The last three generations stay, older ones are removed.
    EXPECT_FALSE(std::filesystem::exists(dir_path + "/gen-3"));
    EXPECT_TRUE(std::filesystem::exists(dir_path + "/gen-4"));
    EXPECT_TRUE(std::filesystem::exists(dir_path + "/gen-6"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir_path));
}

TEST(CredentialDirTest, DirectoriesOfDeadProcessesAreRemoved) {
  auto parent = CredentialDir::Create("");  // a scratch parent, removed at the end
  ASSERT_TRUE(parent.ok());
  const std::string base = (*parent)->dir();
  // A pid above the kernel's maximum (4194304) never runs; this process does.
  const std::string dead = base + "/kv-tls-99999999-abcdef";
  const std::string alive = base + "/kv-tls-" + std::to_string(::getpid()) + "-abcdef";
  const std::string other = base + "/kv-tls-not-ours";
  for (const std::string& d : {dead, alive, other}) ASSERT_EQ(::mkdir(d.c_str(), 0700), 0);
  auto made = CredentialDir::Create(base);
  ASSERT_TRUE(made.ok());
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(alive));
  EXPECT_TRUE(std::filesystem::exists(other));
  EXPECT_TRUE(std::filesystem::exists((*made)->dir()));
}

TEST(CredentialDirTest, AMissingParentIsAnError) {
  EXPECT_FALSE(CredentialDir::Create("/nonexistent/kv-parent").ok());
}

}  // namespace
}  // namespace kv::tls
