#include "server/rpc/connection_limiter.h"

#include <grpc/support/sync.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/version_info.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

// gRPC's socket mutator, as declared in its internal src/core/lib/iomgr/socket_mutator.h (not
// installed). The layout has not changed from 1.2x to 1.7x; GRPC_ARG_SOCKET_MUTATOR and these
// functions are exported by libgrpc. Re-check this block when moving off 1.51, and prefer
// GRPC_ARG_MAX_ALLOWED_INCOMING_CONNECTIONS where gRPC has it.
#if GRPC_CPP_VERSION_MAJOR != 1 || GRPC_CPP_VERSION_MINOR < 20
#error "connection_limiter.cc mirrors gRPC's socket mutator layout of 1.20 .. 1.7x"
#endif
typedef enum {
  GRPC_FD_CLIENT_CONNECTION_USAGE,
  GRPC_FD_SERVER_LISTENER_USAGE,
  GRPC_FD_SERVER_CONNECTION_USAGE,
} grpc_fd_usage;
typedef struct {
  int fd;
  grpc_fd_usage usage;
} grpc_mutate_socket_info;
struct grpc_socket_mutator_vtable {
  bool (*mutate_fd)(int fd, grpc_socket_mutator* mutator);
  int (*compare)(grpc_socket_mutator* a, grpc_socket_mutator* b);
  void (*destroy)(grpc_socket_mutator* mutator);
  bool (*mutate_fd_2)(const grpc_mutate_socket_info* info, grpc_socket_mutator* mutator);
};
struct grpc_socket_mutator {
  const grpc_socket_mutator_vtable* vtable;
  gpr_refcount refcount;
};
void grpc_socket_mutator_init(grpc_socket_mutator* mutator,
                              const grpc_socket_mutator_vtable* vtable);

namespace kv::server {

struct ConnectionLimiter::Mutator {
  grpc_socket_mutator base;  // first: gRPC hands back &base
  ConnectionLimiter* limiter;
};

namespace {

constexpr absl::Duration kPruneInterval = absl::Milliseconds(50);
constexpr absl::Duration kRefusalLogInterval = absl::Seconds(10);
// Connections reset per drain of the backlog: a flood cannot hold one gRPC thread forever.
constexpr int kMaxDrain = 256;

ConnectionLimiter* LimiterOf(grpc_socket_mutator* m) {
  return reinterpret_cast<ConnectionLimiter::Mutator*>(m)->limiter;
}

bool MutateFd2(const grpc_mutate_socket_info* info, grpc_socket_mutator* m) {
  if (info->usage == GRPC_FD_SERVER_CONNECTION_USAGE) LimiterOf(m)->Admit(info->fd);
  if (info->usage == GRPC_FD_SERVER_LISTENER_USAGE) LimiterOf(m)->AddListener(info->fd);
  return true;  // false would stop gRPC's listener for good
}
bool MutateFd(int, grpc_socket_mutator*) { return true; }  // unused: mutate_fd_2 is set
int Compare(grpc_socket_mutator* a, grpc_socket_mutator* b) { return a < b ? -1 : (a > b); }
void Destroy(grpc_socket_mutator*) {}  // the limiter owns the memory

const grpc_socket_mutator_vtable kVtable = {MutateFd, Compare, Destroy, MutateFd2};

class LimiterOption final : public grpc::ServerBuilderOption {
 public:
  explicit LimiterOption(grpc_socket_mutator* mutator) : mutator_(mutator) {}
  void UpdateArguments(grpc::ChannelArguments* args) override { args->SetSocketMutator(mutator_); }
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*) override {}

 private:
  grpc_socket_mutator* const mutator_;
};

// Resets the connection: the client learns at once, and gRPC's first read fails and closes it.
void Refuse(int fd) {
  struct linger no_linger = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof(no_linger));
  shutdown(fd, SHUT_RDWR);
}

}  // namespace

ConnectionLimiter::ConnectionLimiter(int max_connections)
    : max_(max_connections), mutator_(std::make_unique<Mutator>()) {
  grpc_socket_mutator_init(&mutator_->base, &kVtable);
  mutator_->limiter = this;
}

ConnectionLimiter::~ConnectionLimiter() = default;

std::unique_ptr<grpc::ServerBuilderOption> ConnectionLimiter::Option() {
  return std::make_unique<LimiterOption>(&mutator_->base);
}

bool ConnectionLimiter::Admit(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return true;  // cannot happen for a socket just accepted
  absl::MutexLock lock(&mu_);
  open_.erase(fd);  // the number came back: the connection admitted under it has closed
  if (open_.size() >= static_cast<size_t>(max_)) {
    const absl::Time now = absl::Now();
    if (now - last_prune_ >= kPruneInterval) {
      last_prune_ = now;
      PruneClosed();
    }
  }
  if (open_.size() < static_cast<size_t>(max_)) {
    open_[fd] = st.st_ino;
    at_cap_ = false;
    return true;
  }
  Refuse(fd);
  const uint64_t refused = 1 + DrainBacklog();
  refused_ += refused;
  refused_since_log_ += refused;
  at_cap_ = true;
  const absl::Time now = absl::Now();
  if (now - last_refusal_log_ >= kRefusalLogInterval) {
    KV_LOG(WARN) << "refused " << refused_since_log_ << " gRPC connection(s): "
                 << "--max-connections " << max_ << " are open";
    last_refusal_log_ = now;
    refused_since_log_ = 0;
  }
  return false;
}

void ConnectionLimiter::AddListener(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  absl::MutexLock lock(&mu_);
  listeners_[fd] = st.st_ino;
}

uint64_t ConnectionLimiter::DrainBacklog() {
  uint64_t drained = 0;
  for (const auto& [fd, ino] : listeners_) {
    struct stat st;
    // The number may have been closed and reused since (a failed bind): never touch another file.
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_ino != ino) continue;
    for (int i = 0; i < kMaxDrain; ++i) {
      const int waiting = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (waiting < 0) break;  // EAGAIN: empty; EMFILE and others: gRPC's own accept decides
      Refuse(waiting);
      close(waiting);
      ++drained;
    }
  }
  return drained;
}

void ConnectionLimiter::PruneClosed() {
  for (auto it = open_.begin(); it != open_.end();) {
    struct stat st;
    const bool same = fstat(it->first, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == it->second;
    if (same) {
      ++it;
    } else {
      open_.erase(it++);
    }
  }
}

int ConnectionLimiter::open() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(open_.size());
}

uint64_t ConnectionLimiter::refused() const {
  absl::MutexLock lock(&mu_);
  return refused_;
}

bool ConnectionLimiter::at_cap() const {
  absl::MutexLock lock(&mu_);
  return at_cap_;
}

}  // namespace kv::server
