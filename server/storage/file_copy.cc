#include "server/storage/file_copy.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/units.h"

namespace kv::server {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Closes a descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct Sha256 {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  Sha256() { EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr); }
  void Update(const char* data, size_t n) { EVP_DigestUpdate(ctx.get(), data, n); }
  std::string HexDigest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(md), len));
  }
};

absl::Status WriteAll(int fd, const char* data, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(fd, data + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Errno("cannot write", path);
    done += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

}  // namespace

CopyProgress::CopyProgress(std::string what, uint64_t total_bytes, uint64_t total_files,
                           absl::Duration interval)
    : what_(std::move(what)),
      total_bytes_(total_bytes),
      total_files_(total_files),
      interval_(interval),
      last_log_(absl::Now()) {}

void CopyProgress::AddBytes(uint64_t bytes) {
  bytes_ += bytes;
  if (absl::Now() - last_log_ < interval_) return;
  last_log_ = absl::Now();
  KV_LOG(INFO) << what_ << " progress: " << FormatByteSize(bytes_) << " of "
               << FormatByteSize(total_bytes_) << " (" << files_ << " of " << total_files_
               << " files)";
}

void CopyProgress::FileDone() { ++files_; }

absl::StatusOr<CopiedFile> CopyAndHash(const std::string& from, const std::string& to,
                                       uint64_t limit, CopyProgress* progress,
                                       const std::atomic<bool>* cancel) {
  Fd in;
  in.fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in.fd < 0) return Errno("cannot open", from);
  Fd out;
  if (!to.empty()) {
    out.fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out.fd < 0) return Errno("cannot create", to);
  }
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  CopiedFile result;
  while (result.bytes < limit) {
    if (cancel != nullptr && cancel->load()) return absl::CancelledError("the node is stopping");
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), limit - result.bytes));
    ssize_t n = ::read(in.fd, buffer.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read", from);
    if (n == 0) break;
    hash.Update(buffer.data(), static_cast<size_t>(n));
    if (out.fd >= 0) {
      if (auto s = WriteAll(out.fd, buffer.data(), static_cast<size_t>(n), to); !s.ok()) return s;
    }
    result.bytes += static_cast<uint64_t>(n);
    if (progress != nullptr) progress->AddBytes(static_cast<uint64_t>(n));
  }
  if (limit != std::numeric_limits<uint64_t>::max() && result.bytes < limit) {
    return absl::DataLossError(
        absl::StrCat(from, " has ", result.bytes, " bytes, expected ", limit));
  }
  if (out.fd >= 0 && ::fsync(out.fd) != 0) return Errno("cannot fsync", to);
  if (progress != nullptr) progress->FileDone();
  result.sha256 = hash.HexDigest();
  return result;
}

absl::StatusOr<CopiedFile> WriteAndHash(const std::string& path, const std::string& contents) {
  Fd out;
  out.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out.fd < 0) return Errno("cannot create", path);
  if (auto s = WriteAll(out.fd, contents.data(), contents.size(), path); !s.ok()) return s;
  if (::fsync(out.fd) != 0) return Errno("cannot fsync", path);
  Sha256 hash;
  hash.Update(contents.data(), contents.size());
  return CopiedFile{contents.size(), hash.HexDigest()};
}

absl::Status FsyncDir(const std::string& dir) {
  Fd fd;
  fd.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd.fd < 0) return Errno("cannot open", dir);
  if (::fsync(fd.fd) != 0) return Errno("cannot fsync", dir);
  return absl::OkStatus();
}

}  // namespace kv::server
