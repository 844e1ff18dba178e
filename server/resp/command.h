#pragma once
// What a command sees when a connection runs it, and how it answers.
//
// A connection dispatches commands in the order they arrive. The handler reads the arguments
// and the connection's state at once (they are valid only during the call; copy what an
// asynchronous answer needs), may change the connection's state (HELLO, AUTH, KV.READOPTS), and
// answers through its Reply, either before returning or later from any thread once the node
// has answered. Replies reach the client in command order whatever order they are sent in.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kvstore/v1/kv.pb.h"
#include "server/resp/connection.h"
#include "server/resp/reply_buffer.h"
#include "server/resp/reply_writer.h"
#include "server/resp/server_state.h"

namespace kv::server::resp {

class Session;

// The answer to one command. Move-only; Send() at most once, from any thread. A Reply destroyed
// without Send() answers an internal error, so a command never leaves its connection hanging.
// Implemented in reply.cc (delivery to the connection: Session::Deliver).
class Reply {
 public:
  Reply() = default;
  Reply(std::shared_ptr<Session> session, uint64_t seq, int protocol)
      : session_(std::move(session)), seq_(seq), protocol_(protocol) {}
  Reply(Reply&&) noexcept = default;
  Reply& operator=(Reply&& other) noexcept;
  ~Reply();

  // Encodes into this reply (with the protocol the connection spoke when the command came).
  ReplyWriter w() { return ReplyWriter(&buffer_, protocol_); }
  int protocol() const { return protocol_; }
  void set_protocol(int protocol) { protocol_ = protocol; }
  ReplyBuffer& buffer() { return buffer_; }
  // Facts the connection records when the reply is delivered (on its own thread): the version
  // of a write (KV.LASTVERSION, read-your-writes), the freshness of a read (KV.LASTREAD).
  void set_write_version(uint64_t version) { write_version_ = version; }
  template <typename Info>  // kvstore::v1::ReadInfo or SharedReadInfo
  void set_read_info(const Info& info) {
    has_read_facts_ = true;
    read_facts_.Set(info);
  }
  // Hands the reply to the connection. A no-op once the connection or server is gone.
  void Send();
  bool sent() const { return session_ == nullptr; }

  // For pooled replies (a pooled call object keeps its Reply): takes over `other`'s command (its
  // connection and place in the reply order) and keeps this reply's buffer memory.
  void Adopt(Reply&& other);
  // After Send: forgets the command, keeping the buffer's memory. An unsent reply answers
  // "dropped" first.
  void Recycle();

 private:
  friend class Session;

  std::shared_ptr<Session> session_;
  uint64_t seq_ = 0;
  int protocol_ = 2;
  ReplyBuffer buffer_;
  uint64_t write_version_ = 0;
  bool has_read_facts_ = false;
  ReadFacts read_facts_;
};

// One command being dispatched.
struct Invocation {
  Connection& connection;
  ServerState& server;
  // args[0] is the command name as sent. Views into the connection's input: valid during the
  // handler call only.
  absl::Span<const absl::string_view> args;
  Reply reply;
  // When the input holding this command was read (one clock read per read, not per command).
  absl::Time now = absl::UnixEpoch();
  // Set by QUIT: the connection closes once this reply is written.
  bool close_after_reply = false;
};

using CommandHandler = void (*)(Invocation& call);

enum CommandFlag : uint32_t {
  // A write: waits until every earlier command of the connection has finished, and later
  // commands wait for it, so pipelined writes and reads keep Redis's order.
  kCmdWrite = 1u << 0,
  // Waits until every earlier command has finished (reads what they left: KV.LASTVERSION).
  kCmdAfterPrevious = 1u << 1,
  // COMMAND INFO flags.
  kCmdReadonly = 1u << 2,
  kCmdFast = 1u << 3,
  kCmdNoNode = 1u << 4,  // answered without the node (connection and server commands)
};

struct CommandSpec {
  const char* name;  // lower case
  // Redis's convention: N = exactly N arguments (name included), -N = at least N.
  int arity;
  uint32_t flags;
  // Key positions for COMMAND INFO: first, last (-1 = the last argument), step; 0 0 0 = none.
  int first_key;
  int last_key;
  int step;
  CommandHandler handler;
};

// The command named `name` (any case), or null.
const CommandSpec* FindCommand(absl::string_view name);
// Every command, in table order.
absl::Span<const CommandSpec> AllCommands();
// True when `argc` arguments (name included) fit `spec`'s arity.
bool ArityOk(const CommandSpec& spec, size_t argc);

}  // namespace kv::server::resp
