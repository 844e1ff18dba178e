#include "server/storage/data_dir_role.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"

namespace kv::server {
namespace {

namespace fs = std::filesystem;

constexpr char kRolePrefix[] = "role=";

// Longest stamp read: a stamp is a few dozen bytes; anything larger is not ours.
constexpr std::streamsize kMaxStampBytes = 4096;

std::string StampPath(const std::string& dir) { return (fs::path(dir) / kRoleFileName).string(); }

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync", path);
  return absl::OkStatus();
}

absl::Status WriteStamp(const std::string& dir, DataDirRole role) {
  const std::string path = StampPath(dir);
  const std::string tmp = path + ".tmp";
  const std::string text =
      absl::StrCat("# kvd data directory: only a node of this role opens it (docs/faults.md)\n",
                   kRolePrefix, DataDirRoleName(role), "\n");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", tmp);
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = Errno("cannot write", tmp);
      ::close(fd);
      return s;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = Errno("cannot fsync", tmp);
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("cannot rename to", path);
  // The rename is durable only once the directory is synced.
  return FsyncPath(dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace

const char* DataDirRoleName(DataDirRole role) {
  switch (role) {
    case DataDirRole::kCentral:
      return "central";
    case DataDirRole::kEdgeFull:
      return "edge-full";
    case DataDirRole::kEdgeCache:
      return "edge-cache";
  }
  return "?";
}

absl::StatusOr<DataDirRole> ParseDataDirRole(absl::string_view text) {
  for (DataDirRole role :
       {DataDirRole::kCentral, DataDirRole::kEdgeFull, DataDirRole::kEdgeCache}) {
    if (text == DataDirRoleName(role)) return role;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown role '", absl::CHexEscape(text), "'"));
}

absl::StatusOr<DataDirRole> ReadDataDirRole(const std::string& dir) {
  const std::string path = StampPath(dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return absl::NotFoundError(absl::StrCat(path, " does not exist"));
    return absl::InternalError(absl::StrCat("cannot read ", path));
  }
  std::string text(kMaxStampBytes, '\0');
  in.read(text.data(), kMaxStampBytes);
  text.resize(static_cast<size_t>(in.gcount()));
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, kRolePrefix)) continue;
    auto role = ParseDataDirRole(absl::StripAsciiWhitespace(line));
    if (!role.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data directory ", dir, " is stamped with an ", role.status().message(), " in ", path,
          " (a newer kvd, or not a kvd directory); refusing to open it"));
    }
    return *role;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      path,
      " names no role (expected a line 'role=central|edge-full|edge-cache'); refusing to "
      "open data directory ",
      dir));
}

absl::Status ClaimDataDir(const std::string& dir, DataDirRole role) {
  if (dir.empty()) return absl::InvalidArgumentError("--data-dir is required");
  std::error_code ec;
  bool exists = fs::exists(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot look at ", dir, ": ", ec.message()));
  if (exists && !fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("data directory ", dir, " exists and is not a directory"));
  }
  if (!exists) {
    fs::create_directories(dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }

  auto stamped = ReadDataDirRole(dir);
  if (stamped.ok()) {
    if (*stamped == role) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "data directory ", dir, " is stamped for role '", DataDirRoleName(*stamped), "' (",
        StampPath(dir), "); refusing to open it as role '", DataDirRoleName(role),
        "'. Each role keeps its own directory: give this node a --data-dir of its own (an empty "
        "one for a new node). Nothing in ",
        dir, " was changed"));
  }
  if (stamped.status().code() != absl::StatusCode::kNotFound) return stamped.status();

  // No stamp: a new directory, or one made by a build before stamps.
  bool empty = true;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    // A stamp whose rename never happened (a crash) holds nothing worth keeping.
    if (entry.path().filename() == std::string(kRoleFileName) + ".tmp") continue;
    empty = false;
    break;
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", dir, ": ", ec.message()));
  if (auto s = WriteStamp(dir, role); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("stamping data directory ", dir, " as ",
                                               DataDirRoleName(role), ": ", s.message()));
  }
  if (empty) {
    KV_LOG(INFO) << "data directory " << dir << " stamped as " << DataDirRoleName(role);
  } else {
    KV_LOG(WARN) << "data directory " << dir << " has no role stamp (made by an older kvd): "
                 << "adopting it as " << DataDirRoleName(role) << " and stamping it";
  }
  return absl::OkStatus();
}

}  // namespace kv::server
