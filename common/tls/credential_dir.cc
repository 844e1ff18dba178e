#include "common/tls/credential_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kv::tls {
namespace {

constexpr int kKeptGenerations = 3;

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Writes `data` to a new file `path` (0600) with the given mtime.
absl::Status WriteFile(const std::string& path, const std::string& data, int64_t mtime) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", path);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = Errno("cannot write", path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  const timespec times[2] = {{static_cast<time_t>(mtime), 0}, {static_cast<time_t>(mtime), 0}};
  if (::futimens(fd, times) != 0) {
    absl::Status s = Errno("cannot set the time of", path);
    ::close(fd);
    return s;
  }
  if (::close(fd) != 0) return Errno("cannot close", path);
  return absl::OkStatus();
}

// Removes BASE/kv-tls-PID-* directories of processes that no longer exist (killed before they
// could remove their own). Directories of live processes, and of other users, stay.
void RemoveStaleDirs(const std::string& base) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
    const std::string name = entry.path().filename().string();
    if (!absl::StartsWith(name, "kv-tls-")) continue;
    const std::vector<std::string> parts = absl::StrSplit(name, '-');
    int pid = 0;
    if (parts.size() != 4 || !absl::SimpleAtoi(parts[2], &pid) || pid <= 0) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    if (::access(entry.path().c_str(), W_OK) != 0) continue;
    std::filesystem::remove_all(entry.path(), ec);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<CredentialDir>> CredentialDir::Create(const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp";
  }
  RemoveStaleDirs(base);
  std::string pattern = absl::StrCat(base, "/kv-tls-", ::getpid(), "-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) return Errno("cannot create a directory in", base);
  // mkdtemp makes it 0700 already; say so in case of an unusual umask handling.
  ::chmod(pattern.c_str(), 0700);
  return std::unique_ptr<CredentialDir>(new CredentialDir(pattern));
}

CredentialDir::~CredentialDir() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status CredentialDir::Publish(const PemMaterial& material) {
  const int next = generation_ + 1;
  const std::string gen_name = absl::StrCat("gen-", next);
  const std::string gen_dir = absl::StrCat(dir_, "/", gen_name);
  std::error_code ec;
  std::filesystem::remove_all(gen_dir, ec);  // a leftover of a failed publish
  if (::mkdir(gen_dir.c_str(), 0700) != 0) return Errno("cannot create", gen_dir);
  // Strictly later than the previous generation, so a reader that straddles the switch sees a
  // changed mtime and reads again.
  const int64_t mtime = std::max<int64_t>(std::time(nullptr), last_mtime_ + 1);
  const std::pair<const std::string*, const char*> files[] = {{&material.cert_chain, "cert.pem"},
                                                              {&material.private_key, "key.pem"},
                                                              {&material.ca, "ca.pem"}};
  for (const auto& [data, name] : files) {
    if (data->empty()) continue;
    if (absl::Status s = WriteFile(absl::StrCat(gen_dir, "/", name), *data, mtime); !s.ok()) {
      std::filesystem::remove_all(gen_dir, ec);
      return s;
    }
  }
  const std::string link_tmp = dir_ + "/current.tmp";
  ::unlink(link_tmp.c_str());
  if (::symlink(gen_name.c_str(), link_tmp.c_str()) != 0) {
    std::filesystem::remove_all(gen_dir, ec);
    return Errno("cannot create the link", link_tmp);
  }
  const std::string link = dir_ + "/current";
  if (::rename(link_tmp.c_str(), link.c_str()) != 0) {
    std::filesystem::remove_all(gen_dir, ec);
    return Errno("cannot replace", link);
  }
  generation_ = next;
  last_mtime_ = mtime;
  const int old = next - kKeptGenerations;
  if (old >= 1) std::filesystem::remove_all(absl::StrCat(dir_, "/gen-", old), ec);
  return absl::OkStatus();
}

}  // namespace kv::tls
