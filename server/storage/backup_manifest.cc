#include "server/storage/backup_manifest.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/storage/file_copy.h"

namespace kv::server {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "kv-backup 1";

// A relative name inside the backup: no absolute paths, no "..", so a manifest cannot make a
// restore read or write outside the directories it was given.
bool SafeName(const std::string& name) {
  if (name.empty() || name.front() == '/') return false;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

}  // namespace

uint64_t BackupManifest::total_bytes() const {
  uint64_t total = 0;
  for (const auto& f : files) total += f.bytes;
  return total;
}

std::string FormatBackupManifest(const BackupManifest& m) {
  std::string out =
      absl::StrCat(kMagic, "\n", "version ", m.version, "\n", "cluster_id ", m.cluster_id, "\n",
                   "history_id ", m.history_id, "\n", "created_unix ", m.created_unix, "\n");
  for (const auto& f : m.files)
    absl::StrAppend(&out, "file ", f.name, " ", f.bytes, " ", f.sha256, "\n");
  return out;
}

absl::StatusOr<BackupManifest> ParseBackupManifest(const std::string& text) {
  BackupManifest m;
  bool magic = false, version = false;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    ++line_no;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(kBackupManifestName, " line ", line_no, ": ", why, ": '", line, "'"));
    };
    if (line_no == 1) {
      if (line != kMagic) return bad(absl::StrCat("expected '", kMagic, "'"));
      magic = true;
      continue;
    }
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    const std::string& key = parts[0];
    if (key == "version" && parts.size() == 2) {
      if (!absl::SimpleAtoi(parts[1], &m.version)) return bad("bad version");
      version = true;
    } else if (key == "cluster_id" && parts.size() == 2) {
      m.cluster_id = parts[1];
    } else if (key == "history_id" && parts.size() == 2) {
      m.history_id = parts[1];
    } else if (key == "created_unix" && parts.size() == 2) {
      if (!absl::SimpleAtoi(parts[1], &m.created_unix)) return bad("bad time");
    } else if (key == "file" && parts.size() == 4) {
      BackupFile f;
      f.name = parts[1];
      if (!SafeName(f.name)) return bad("file name outside the backup");
      if (!absl::SimpleAtoi(parts[2], &f.bytes)) return bad("bad size");
      if (parts[3].size() != 64) return bad("bad hash");
      f.sha256 = parts[3];
      m.files.push_back(std::move(f));
    } else {
      return bad("unknown line");
    }
  }
  if (!magic) return absl::InvalidArgumentError(absl::StrCat(kBackupManifestName, " is empty"));
  if (!version || m.cluster_id.empty() || m.files.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kBackupManifestName, " lacks its version, cluster id or files"));
  }
  return m;
}

absl::Status WriteBackupManifest(const std::string& dir, const BackupManifest& manifest) {
  const std::string path = (fs::path(dir) / kBackupManifestName).string();
  const std::string tmp = path + ".tmp";
  std::error_code ec;
  fs::remove(tmp, ec);
  auto written = WriteAndHash(tmp, FormatBackupManifest(manifest));
  if (!written.ok()) return written.status();
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  }
  return FsyncDir(dir);
}

absl::StatusOr<BackupManifest> ReadBackupManifest(const std::string& dir) {
  const std::string path = (fs::path(dir) / kBackupManifestName).string();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(
        dir, " is not a finished backup: it has no ", kBackupManifestName,
        " (made by `kvctl admin backup`, written last; an interrupted backup has none)"));
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return absl::InternalError(absl::StrCat("cannot read ", path));
  return ParseBackupManifest(text.str());
}

}  // namespace kv::server
