#pragma once
// Internal to server/resp: the state a RespServer shares with its connections, and one
// connection's loop: read -> parse -> dispatch (in order) -> replies in order -> write.
//
// Threading: a session runs on its loop's thread, except Register/Refuse (the accept loop,
// before the session starts), Deliver (any thread: posts to the loop unless already on it) and
// Abandon (after the I/O threads are joined). Ownership: shared_ptr, held by the pending I/O
// operation's handler and by every Reply of a command in flight; the loop and the server keep
// only weak or raw references.
//
// Flow control: a connection reads only while its parser needs bytes; it stops dispatching (and
// so reading) while max_commands_in_flight commands wait at the node, or while a write command
// (SET, DEL) is in flight or must wait for earlier commands. Replies of a client that does not
// read pile up in the output; past max_output_bytes the connection is closed.

#include <atomic>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "server/http/throttled_log.h"
#include "server/resp/command.h"
#include "server/resp/connection.h"
#include "server/resp/reply_buffer.h"
#include "server/resp/reply_queue.h"
#include "server/resp/request_parser.h"
#include "server/resp/server_state.h"

namespace kv::server::resp {

class Session;

using RespSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using RespTimer =
    boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                      boost::asio::wait_traits<std::chrono::steady_clock>,
                                      boost::asio::io_context::executor_type>;

// One I/O thread's event loop and the sessions it serves.
struct RespLoop {
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  RespLoop() : context(1), guard(context.get_executor()), sweeper(context.get_executor()) {}

  boost::asio::io_context context;
  std::optional<WorkGuard> guard;
  // Closes idle sessions: one timer per loop.
  RespTimer sweeper;
  // This loop's sessions; touched on the loop's thread only.
  std::vector<std::weak_ptr<Session>> sessions;
};

// Outlives the RespServer while sessions (held by Replies in flight) remain.
struct RespShared : std::enable_shared_from_this<RespShared> {
  RespShared(Node* node, RespServerOptions options) : state(node, std::move(options)) {}

  ServerState state;
  // Idle timeout: every sweep_interval an idle session gains a tick; at max_idle_ticks it is
  // closed; 0 = never.
  std::chrono::nanoseconds sweep_interval{0};
  int max_idle_ticks = 0;

  std::vector<std::unique_ptr<RespLoop>> loops;              // one per thread, Start..Stop
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;  // on loops[0]
  std::optional<RespSocket> accepting;                       // accept loop only
  size_t next_loop = 0;                                      // accept loop only
  ThrottledLog accept_error_log{absl::Seconds(10)};          // accept loop only
  ThrottledLog refusal_log{absl::Seconds(10)};               // accept loop only

  mutable absl::Mutex mu;
  // True while the io_contexts may be posted to (from Start until Stop stops them).
  bool open ABSL_GUARDED_BY(mu) = false;
  // Stop has begun: new connections are closed at once.
  bool draining ABSL_GUARDED_BY(mu) = false;
  int open_sessions ABSL_GUARDED_BY(mu) = 0;
  // Every live Session object (open or not), for Stop.
  absl::flat_hash_set<Session*> sessions ABSL_GUARDED_BY(mu);
};

// A completed command on its way to its session from another thread (Reply::Send).
struct Delivery {
  uint64_t seq = 0;
  ReplyBuffer bytes;
  uint64_t write_version = 0;
  bool has_read_facts = false;
  ReadFacts read_facts;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<RespShared> shared, RespLoop* loop, RespSocket socket);
  ~Session();

  enum class Admission { kAdmitted, kFull, kDraining };
  // Registers as an open connection. kFull when max_connections are open (call Refuse),
  // kDraining when the server is stopping (the socket is then closed).
  Admission Register();
  // After kFull, on the accept loop: answers "-ERR max number of clients reached" without
  // blocking and closes.
  void Refuse();
  // On the session's thread: starts reading commands.
  void Start();
  // On the session's thread, from the loop's sweeper: counts an idle tick, closes the session
  // when it has been idle too long. False once closed.
  bool Sweep();
  // On the session's thread: closes now if nothing is in flight, else once it is answered.
  void BeginShutdown();
  // After the I/O threads have been joined: releases the socket.
  void Abandon();

  // Reply::Send: takes `reply`'s bytes at once when called on the session's thread (the reply
  // keeps its buffer's memory), else posts them there.
  static void Deliver(std::shared_ptr<Session> self, Reply& reply);

  boost::asio::io_context::executor_type executor() const { return executor_; }
  const Connection& connection() const { return connection_; }

 private:
  void Read();
  // Tells the node which keys the buffered GETs and MGETs will read (Node::PrefetchReads), so
  // a pipeline's lookups overlap their cache misses.
  void PrefetchAhead();
  // Whether this connection's credentials admit its commands (hints are only for those).
  bool MayHint();
  void OnRead(const boost::system::error_code& ec, size_t bytes);
  // Dispatches what the parser has, as far as flow control allows; then writes and reads.
  void Pump();
  // One parsed command: false when it must wait (flow control) and stays in the parser.
  bool Dispatch();
  // On the session's thread: a command's reply is complete. `bytes` is emptied.
  void OnDelivered(uint64_t seq, ReplyBuffer* bytes, uint64_t write_version, ReadFacts* facts);
  // Writes at the end of this round of the loop's ready events (see Pump).
  void ScheduleFlush();
  void Flush();
  void OnWrite(const boost::system::error_code& ec, size_t bytes);
  // Closes when input ended or QUIT/a protocol error asked for it, and everything is answered.
  void CloseIfFinished();
  void Close();

  const std::shared_ptr<RespShared> shared_;
  ServerState& state_;
  RespLoop* const loop_;
  const boost::asio::io_context::executor_type executor_;
  const void* const context_id_;      // the io_context, compared with the thread's current one
  std::optional<RespSocket> socket_;  // reset by Abandon
  Connection connection_;
  RequestParser parser_;
  ReplyQueue queue_;
  ReplyBuffer out_;
  size_t read_size_ = 4096;  // grows when reads fill it
  int in_flight_ = 0;        // commands dispatched whose reply has not been delivered
  bool write_in_flight_ = false;
  uint64_t write_seq_ = 0;
  uint64_t last_read_seq_ = 0;  // the command whose read info connection_.last_read holds
  bool reading_ = false;
  bool writing_ = false;
  // The last direct write did not take everything: write through Asio until the output is
  // empty again.
  bool write_blocked_ = false;
  // The socket is non-blocking, so Flush may write it directly (set by Start).
  bool direct_writes_ = false;
  // MayHint's verdict, for the token it was decided for.
  bool hint_decided_ = false;
  bool hint_allowed_ = false;
  std::string hint_token_;
  bool flush_scheduled_ = false;
  bool pumping_ = false;
  bool input_done_ = false;  // no more commands are read: EOF, QUIT, protocol error, shutdown
  bool closed_ = false;
  bool registered_ = false;
  bool counted_open_ = false;
  int idle_ticks_ = 0;
  // Read once per input event and used by every command dispatched from it.
  absl::Time now_ = absl::UnixEpoch();
};

// The io_context the calling thread runs (set by each RESP I/O thread), else null.
void SetCurrentRespContext(const void* context);

}  // namespace kv::server::resp
