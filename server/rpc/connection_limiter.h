#pragma once
// Caps the connections a gRPC server holds open (kvd --max-connections) and refuses the excess
// cleanly, so the listener can never run the process out of descriptors.
//
// Why not a channel argument: gRPC 1.51 has none (grpc.max_allowed_incoming_connections came
// later), and its listener stops accepting for good after one failed accept4 (EMFILE). The only
// per-connection hook 1.51 calls after accept is the socket mutator (GRPC_ARG_SOCKET_MUTATOR,
// usage GRPC_FD_SERVER_CONNECTION_USAGE). The limiter installs one: a connection beyond the cap
// is shut down there (SO_LINGER 0 + shutdown: the client sees the connection reset at once and
// its call fails UNAVAILABLE), and gRPC closes it on its first read. Returning false from the
// mutator would stop the listener just like EMFILE, so it never does.
//
// Bursts: gRPC accepts in a loop until the backlog is empty, and closes the connections refused
// in it only after that loop, so a burst beyond the cap (300 connects in 8 ms) would still reach
// EMFILE. At the cap the limiter therefore empties the listener's backlog itself first: it
// accepts and resets each waiting connection at once (one descriptor at a time), so gRPC's next
// accept4 finds nothing (EAGAIN) and its loop ends. The listener's descriptor comes from the
// same mutator (GRPC_FD_SERVER_LISTENER_USAGE) and is checked by inode before each use.
//
// Counting: gRPC does not say when a connection closes. Each admitted connection is remembered
// as (descriptor, socket inode); at the cap, entries whose descriptor is closed or now names
// another file are dropped (fstat), at most every 50 ms. So `open()` is an upper bound that is
// exact whenever the cap is reached, and a freed slot is seen within 50 ms of the next accept.
//
// Threading: Admit() runs on gRPC's threads, the accessors on any thread; all are thread-safe.
// Ownership: the limiter must outlive every server built with its Option().

#include <grpcpp/impl/server_builder_option.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kv::server {

class ConnectionLimiter {
 public:
  explicit ConnectionLimiter(int max_connections);
  ~ConnectionLimiter();
  ConnectionLimiter(const ConnectionLimiter&) = delete;
  ConnectionLimiter& operator=(const ConnectionLimiter&) = delete;

  // Install with ServerBuilder::SetOption before BuildAndStart.
  std::unique_ptr<grpc::ServerBuilderOption> Option();

  // Called with each accepted connection's descriptor: true = keep it; false = it was refused
  // (already shut down; gRPC closes it).
  bool Admit(int fd);
  // Called with each listening socket gRPC creates, before it binds it.
  void AddListener(int fd);

  int max_connections() const { return max_; }
  // Connections admitted and not yet seen closed (exact when at the cap).
  int open() const;
  // Connections refused at the cap, since the start.
  uint64_t refused() const;
  // True while the last connection that arrived was refused (and nothing was admitted since).
  bool at_cap() const;

  struct Mutator;  // the grpc_socket_mutator glue (connection_limiter.cc)

 private:
  // Drops entries whose descriptor no longer holds the socket admitted under it.
  void PruneClosed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Accepts and resets what waits in the listeners' backlogs (bounded); returns how many.
  uint64_t DrainBacklog() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int max_;
  std::unique_ptr<Mutator> mutator_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int, ino_t> open_ ABSL_GUARDED_BY(mu_);       // descriptor -> socket inode
  absl::flat_hash_map<int, ino_t> listeners_ ABSL_GUARDED_BY(mu_);  // the same, listening
  absl::Time last_prune_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
  bool at_cap_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_refusal_log_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t refused_since_log_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace kv::server
