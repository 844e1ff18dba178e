#include "auth/permissions.h"

#include <gtest/gtest.h>

namespace kv::auth {
namespace {

TEST(Permissions, EmptyScopeAllowsNothing) {
  Permissions p = Permissions::Parse("");
  EXPECT_FALSE(p.CanRead("a"));
  EXPECT_FALSE(p.CanReadPrefix(""));
  EXPECT_FALSE(p.CanWrite("a"));
  EXPECT_FALSE(p.IsAdmin());
  EXPECT_FALSE(p.CanReplicate());
  EXPECT_FALSE(Permissions().CanRead(""));
}

TEST(Permissions, ReadAndWritePrefixes) {
  Permissions p = Permissions::Parse("read:users/  write:users/alice/ something-else");
  EXPECT_TRUE(p.CanRead("users/1"));
  EXPECT_TRUE(p.CanRead("users/"));
  EXPECT_FALSE(p.CanRead("user"));
  EXPECT_FALSE(p.CanRead("groups/1"));
  EXPECT_TRUE(p.CanWrite("users/alice/x"));
  EXPECT_FALSE(p.CanWrite("users/bob/x"));
  EXPECT_FALSE(p.CanWrite("users/alice"));
  EXPECT_FALSE(p.IsAdmin());
}

TEST(Permissions, EmptyPrefixMeansEveryKey) {
  Permissions p = Permissions::Parse("read: write:");
  EXPECT_TRUE(p.CanRead("anything"));
  EXPECT_TRUE(p.CanRead(""));
  EXPECT_TRUE(p.CanWrite("x/y/z"));
  EXPECT_TRUE(p.CanReadPrefix(""));
}

TEST(Permissions, ListOnlyInsideAGrantedPrefix) {
  Permissions p = Permissions::Parse("read:users/");
  EXPECT_TRUE(p.CanReadPrefix("users/"));
  EXPECT_TRUE(p.CanReadPrefix("users/a"));
  EXPECT_FALSE(p.CanReadPrefix("users"));  // would list "users-secret/..."
  EXPECT_FALSE(p.CanReadPrefix("use"));
  EXPECT_FALSE(p.CanReadPrefix(""));
  EXPECT_EQ(p.Check(Action::kList, "").message(), "missing scope read:");
}

TEST(Permissions, ReservedNamespaceNeedsAdminWhateverReadWriteSay) {
  Permissions rw = Permissions::Parse("read: write: read:__kv/ write:__kv/config");
  EXPECT_FALSE(rw.CanRead("__kv/config"));
  EXPECT_FALSE(rw.CanWrite("__kv/config"));
  EXPECT_FALSE(rw.CanReadPrefix("__kv/"));
  EXPECT_FALSE(rw.CanReadPrefix("__kv/con"));
  EXPECT_TRUE(rw.CanRead("__kv"));  // not in the namespace: the namespace is "__kv/"

  Permissions admin = Permissions::Parse("admin");
  EXPECT_TRUE(admin.CanRead("__kv/config"));
  EXPECT_TRUE(admin.CanWrite("__kv/config"));
  EXPECT_TRUE(admin.CanReadPrefix("__kv/"));
  EXPECT_FALSE(admin.CanRead("users/1"));  // admin does not imply read:
  EXPECT_TRUE(admin.IsAdmin());
}

TEST(Permissions, PrefixOverlapsReserved) {
  EXPECT_TRUE(PrefixOverlapsReserved(""));
  EXPECT_TRUE(PrefixOverlapsReserved("_"));
  EXPECT_TRUE(PrefixOverlapsReserved("__kv"));
  EXPECT_TRUE(PrefixOverlapsReserved("__kv/"));
  EXPECT_TRUE(PrefixOverlapsReserved("__kv/x"));
  EXPECT_FALSE(PrefixOverlapsReserved("users/"));
  EXPECT_FALSE(PrefixOverlapsReserved("__kx"));
}

TEST(Permissions, ReplicateIsSeparate) {
  Permissions p = Permissions::Parse("replicate");
  EXPECT_TRUE(p.CanReplicate());
  EXPECT_FALSE(p.CanRead("a"));
  EXPECT_FALSE(p.IsAdmin());
}

TEST(Permissions, ScopeWordsMustMatchExactly) {
  Permissions p = Permissions::Parse("Admin ADMIN admins replicated READ:x readx:y");
  EXPECT_FALSE(p.IsAdmin());
  EXPECT_FALSE(p.CanReplicate());
  EXPECT_FALSE(p.CanRead("x"));
  EXPECT_FALSE(p.CanRead("y"));
}

TEST(Permissions, NormalizesCoveredPrefixes) {
  Permissions p = Permissions::Parse("read:a/b read:a/ read:a/c read:b");
  EXPECT_EQ(p.read_prefixes(), (std::vector<std::string>{"b", "a/"}));
}

TEST(Permissions, MissingScopeMessages) {
  Permissions p = Permissions::Parse("read:users/");
  absl::Status s = p.Check(Action::kRead, "groups/7");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "missing scope read:groups/7");
  EXPECT_EQ(p.Check(Action::kWrite, "users/1").message(), "missing scope write:users/1");
  EXPECT_EQ(p.Check(Action::kList, "groups/").message(), "missing scope read:groups/");
  EXPECT_EQ(p.Check(Action::kAdmin).message(), "missing scope admin");
  EXPECT_EQ(p.Check(Action::kReplicate).message(), "missing scope replicate");
  EXPECT_EQ(p.Check(Action::kRead, "__kv/keys").message(),
            "missing scope admin (key is in the reserved namespace __kv/)");
  EXPECT_TRUE(p.Check(Action::kRead, "users/1").ok());
}

TEST(Permissions, MissingScopeMessageEscapesAndCutsTheKey) {
  std::string key = "bin\x01\xff" + std::string(200, 'k');
  std::string m = MissingScopeMessage(Action::kRead, key);
  EXPECT_NE(m.find("bin\\x01\\xff"), std::string::npos);
  EXPECT_LT(m.size(), 120u);
  EXPECT_NE(m.find("..."), std::string::npos);
}

}  // namespace
}  // namespace kv::auth
