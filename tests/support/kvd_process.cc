#include "tests/support/kvd_process.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace kv::testing {

std::string KvdPath() { return KV_KVD_PATH; }
std::string KvctlPath() { return KV_KVCTL_PATH; }

KvdProcess::KvdProcess(std::string name, std::vector<std::string> args, std::string work_dir)
    : name_(std::move(name)), args_(std::move(args)), work_dir_(std::move(work_dir)) {
  for (const auto& a : args_) {
    if (a == "--http") wants_http_ = true;
  }
}

KvdProcess::~KvdProcess() {
  if (pid_ > 0) Kill();
}

std::string KvdProcess::log_path() const { return work_dir_ + "/" + name_ + ".log"; }

std::string KvdProcess::ReadLog() const {
  std::ifstream in(log_path());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> KvdProcess::ArgsForStart() const {
  std::vector<std::string> args = args_;
  bool has_listen = false;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--listen") has_listen = true;
  }
  if (!has_listen) {
    args.push_back("--listen");
    // Reuse the port of the first start so downstreams and clients find the node again.
    args.push_back(address_.empty() ? "127.0.0.1:0" : address_);
  }
  if (wants_http_ && !http_address_.empty()) {
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "--http") args[i + 1] = http_address_;
    }
  }
  args.push_back("--ready-file");
  args.push_back(work_dir_ + "/" + name_ + ".ready");
  return args;
}

absl::Status KvdProcess::Start(absl::Duration timeout) {
  if (pid_ > 0) return absl::FailedPreconditionError(name_ + " is already running");
  std::string ready = work_dir_ + "/" + name_ + ".ready";
  unlink(ready.c_str());
  std::vector<std::string> args = ArgsForStart();
  std::vector<char*> argv;
  std::string binary = KvdPath();
  argv.push_back(binary.data());
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // TMPDIR = the work directory: what a node puts there (its TLS credential directory) goes
  // away with the test's directory, also when the node is killed.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "TMPDIR=", 7) != 0) env_strings.push_back(*e);
  }
  env_strings.push_back("TMPDIR=" + work_dir_);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::string log = log_path();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    // Unblock signals the test runner may have blocked, so SIGTERM reaches kvd's sigwait.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (descriptor_limit_ > 0) {
      struct rlimit limit = {descriptor_limit_, descriptor_limit_};
      if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(126);
    }
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  pid_ = pid;
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat(name_, " exited during start (status ", status, "):\n", ReadLog()));
    }
    std::ifstream in(ready);
    if (in) {
      try {
        nlohmann::json j = nlohmann::json::parse(in);
        address_ = j.at("grpc").get<std::string>();
        http_address_ = j.at("http").get<std::string>();
        return absl::OkStatus();
      } catch (const std::exception&) {
        // Partially written; try again.
      }
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  Kill();
  return absl::DeadlineExceededError(absl::StrCat(name_, " did not become ready in ",
                                                  absl::FormatDuration(timeout), ":\n", ReadLog()));
}

int KvdProcess::Stop(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGCONT);
  kill(pid_, SIGTERM);
  absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (absl::Now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  Kill();
  return -SIGKILL;
}

void KvdProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void KvdProcess::Pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void KvdProcess::Resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

void KvdProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

std::shared_ptr<grpc::Channel> KvdProcess::Channel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // Fresh connections per channel: a node restarted on the same port must not be reached
  // through a connection of its previous life.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxSendMessageSize(64 << 20);
  return security_.CreateChannel(address_, args);
}

std::unique_ptr<kvstore::v1::KV::Stub> KvdProcess::KvStub() const {
  return kvstore::v1::KV::NewStub(Channel());
}

std::unique_ptr<kvstore::v1::Admin::Stub> KvdProcess::AdminStub() const {
  return kvstore::v1::Admin::NewStub(Channel());
}

std::unique_ptr<kvstore::v1::Replication::Stub> KvdProcess::ReplicationStub() const {
  return kvstore::v1::Replication::NewStub(Channel());
}

absl::StatusOr<kvstore::v1::StatusResponse> KvdProcess::Status() const {
  auto stub = AdminStub();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  security_.Authorize(&ctx);
  kvstore::v1::StatusRequest req;
  kvstore::v1::StatusResponse resp;
  grpc::Status s = stub->Status(&ctx, req, &resp);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  }
  return resp;
}

}  // namespace kv::testing
