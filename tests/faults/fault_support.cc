#include "tests/faults/fault_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace kv::testing {

TmpfsMount::~TmpfsMount() {
  if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
}

absl::Status TmpfsMount::Mount() {
  std::error_code ignored;
  std::filesystem::create_directories(dir_, ignored);
  const std::string options = absl::StrCat("size=", bytes_);
  if (mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot mount a ", bytes_ >> 20, " MiB tmpfs at ", dir_, " (",
                     std::strerror(errno), "); the disk-full tests need root (as in CI)"));
  }
  mounted_ = true;
  return absl::OkStatus();
}

uint64_t FreeBytes(const std::string& path) {
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

absl::StatusOr<uint64_t> FillDisk(const std::string& path, uint64_t leave_free) {
  unlink(path.c_str());
  const uint64_t free = FreeBytes(path.substr(0, path.rfind('/')));
  if (free <= leave_free) return uint64_t{0};
  const uint64_t size = free - leave_free;
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  const int rc = fallocate(fd, 0, 0, static_cast<off_t>(size));
  const int err = errno;
  close(fd);
  if (rc != 0)
    return absl::InternalError(absl::StrCat("fallocate ", path, ": ", std::strerror(err)));
  return size;
}

absl::StatusOr<pid_t> ReadyFilePid(const std::string& work_dir, const std::string& name) {
  std::ifstream in(work_dir + "/" + name + ".ready");
  if (!in) return absl::NotFoundError("no ready file for " + name);
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("pid")) return absl::DataLossError("bad ready file");
  return static_cast<pid_t>(j.at("pid").get<int64_t>());
}

namespace {

// The value of a "Name:" line of /proc/PID/status, or "" when absent.
std::string StatusField(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::string(absl::StripAsciiWhitespace(line.substr(field.size() + 1)));
    }
  }
  return "";
}

}  // namespace

uint64_t ResidentBytes(pid_t pid) {
  std::string rss = StatusField(pid, "VmRSS");  // "123456 kB"
  uint64_t kb = 0;
  if (!absl::SimpleAtoi(rss.substr(0, rss.find(' ')), &kb)) return 0;
  return kb * 1024;
}

bool Alive(pid_t pid) {
  std::string state = StatusField(pid, "State");  // "S (sleeping)", "Z (zombie)"
  return !state.empty() && state[0] != 'Z' && state[0] != 'X';
}

absl::StatusOr<HttpAnswer> HttpGet(const std::string& address, const std::string& target) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError("bad address " + address);
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket");
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError("connect to " + address);
  }
  const std::string request =
      absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("send");
  }
  std::string response;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  HttpAnswer answer;
  // "HTTP/1.1 503 Service Unavailable\r\n...\r\n\r\nbody"
  if (response.size() < 12 || !absl::SimpleAtoi(response.substr(9, 3), &answer.code)) {
    return absl::DataLossError("not an HTTP answer: " + response.substr(0, 64));
  }
  const size_t body = response.find("\r\n\r\n");
  if (body != std::string::npos) answer.body = response.substr(body + 4);
  return answer;
}

}  // namespace kv::testing
