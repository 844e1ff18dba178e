#include "server/resp/session.h"

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "server/resp/call_context.h"
#include "server/resp/errors.h"
#include "server/resp/lookahead.h"

namespace kv::server::resp {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

thread_local const void* current_resp_context = nullptr;

// Reads start this small (an idle connection holds little) and double up to this when they
// fill the space they were given.
constexpr size_t kMaxReadBytes = 64 * 1024;
// A read for a large bulk asks for at most this much at once.
constexpr size_t kMaxBulkReadBytes = 1 << 20;
// Reply segments handed to one write.
constexpr size_t kMaxGather = 16;
// What one input read hints to the node (PrefetchAhead): the keys of GETs and MGETs among the
// next commands, at most this many of each.
constexpr size_t kLookaheadCommands = 32;
constexpr size_t kLookaheadKeys = 64;

constexpr absl::string_view kTooManyClients = "-ERR max number of clients reached\r\n";

std::string HostPort(const tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  if (address.is_v4()) return absl::StrCat(address.to_string(), ":", endpoint.port());
  return absl::StrCat("[", address.to_string(), "]:", endpoint.port());
}

}  // namespace

void SetCurrentRespContext(const void* context) { current_resp_context = context; }

Session::Session(std::shared_ptr<RespShared> shared, RespLoop* loop, RespSocket socket)
    : shared_(std::move(shared)),
      state_(shared_->state),
      loop_(loop),
      executor_(loop->context.get_executor()),
      context_id_(&loop->context),
      parser_(shared_->state.options.parser) {
  socket_.emplace(std::move(socket));
  boost::system::error_code ec;
  const tcp::endpoint remote = socket_->remote_endpoint(ec);
  if (!ec) {
    connection_.addr = HostPort(remote);
    connection_.peer = absl::StrCat(remote.address().is_v4() ? "ipv4:" : "ipv6:", connection_.addr);
  } else {
    connection_.addr = connection_.peer = "unknown";
  }
  const tcp::endpoint local = socket_->local_endpoint(ec);
  if (!ec) connection_.laddr = HostPort(local);
  connection_.created = connection_.last_command_time = absl::Now();
  connection_.admit = &state_.options.admit;
}

Session::~Session() {
  if (!registered_) return;
  absl::MutexLock lock(&shared_->mu);
  shared_->sessions.erase(this);
  if (counted_open_) {
    --shared_->open_sessions;
    state_.connections_open.fetch_sub(1, std::memory_order_relaxed);
  }
}

Session::Admission Session::Register() {
  {
    absl::MutexLock lock(&shared_->mu);
    if (!shared_->draining) {
      if (shared_->open_sessions >= state_.options.max_connections) return Admission::kFull;
      shared_->sessions.insert(this);
      ++shared_->open_sessions;
      state_.connections_open.fetch_add(1, std::memory_order_relaxed);
      registered_ = counted_open_ = true;
      connection_.id = state_.next_client_id.fetch_add(1, std::memory_order_relaxed);
      return Admission::kAdmitted;
    }
  }
  boost::system::error_code ec;
  socket_->close(ec);
  closed_ = true;
  return Admission::kDraining;
}

void Session::Refuse() {
  closed_ = true;
  boost::system::error_code ec;
  socket_->non_blocking(true, ec);
  // Closing with unread input sends RST, which may destroy the answer before the client reads
  // it: take what has arrived first.
  std::array<char, 4096> sink;
  for (int i = 0; i < 4 && !ec; ++i) socket_->read_some(asio::buffer(sink), ec);
  ec = {};
  socket_->write_some(asio::buffer(kTooManyClients.data(), kTooManyClients.size()), ec);
  socket_->shutdown(tcp::socket::shutdown_send, ec);
  socket_->close(ec);
}

void Session::Start() {
  if (shared_->sweep_interval.count() > 0) loop_->sessions.push_back(weak_from_this());
  // Writes are tried at once (Flush); if the socket cannot be made non-blocking, a direct write
  // could stall the loop, so every write goes through Asio.
  boost::system::error_code ec;
  socket_->non_blocking(true, ec);
  direct_writes_ = !ec;
  Read();
}

bool Session::Sweep() {
  if (closed_) return false;
  if (in_flight_ > 0) {  // waiting at the node: not the client's doing
    idle_ticks_ = 0;
    return true;
  }
  ++idle_ticks_;
  if (idle_ticks_ == 1 && !writing_) out_.ShrinkSpare();
  if (shared_->max_idle_ticks == 0 || idle_ticks_ < shared_->max_idle_ticks) return true;
  state_.idle_closes.fetch_add(1, std::memory_order_relaxed);
  Close();
  return false;
}

void Session::BeginShutdown() {
  input_done_ = true;
  CloseIfFinished();
}

void Session::Abandon() {
  closed_ = true;
  socket_.reset();
  absl::MutexLock lock(&shared_->mu);
  if (counted_open_) {
    --shared_->open_sessions;
    state_.connections_open.fetch_sub(1, std::memory_order_relaxed);
  }
  counted_open_ = false;
}

void Session::Deliver(std::shared_ptr<Session> self, Reply& reply) {
  if (current_resp_context == self->context_id_) {
    self->OnDelivered(reply.seq_, &reply.buffer_, reply.write_version_,
                      reply.has_read_facts_ ? &reply.read_facts_ : nullptr);
    return;
  }
  Delivery d;
  d.seq = reply.seq_;
  d.bytes = std::move(reply.buffer_);
  d.write_version = reply.write_version_;
  d.has_read_facts = reply.has_read_facts_;
  if (d.has_read_facts) d.read_facts = std::move(reply.read_facts_);
  absl::ReaderMutexLock lock(&self->shared_->mu);
  if (!self->shared_->open) return;  // the server stopped; `self` is released after the lock
  asio::post(self->executor_, [self, d = std::move(d)]() mutable {
    self->OnDelivered(d.seq, &d.bytes, d.write_version, d.has_read_facts ? &d.read_facts : nullptr);
  });
}

void Session::Read() {
  if (reading_ || input_done_ || closed_) return;
  reading_ = true;
  // Asio tries the read at once, which fails (EAGAIN) when the client waits for replies: one
  // recv per input batch. Waiting first (async_wait) costs an epoll_ctl instead, and measured
  // no cheaper (docs/resp.md).
  const size_t want =
      std::max(read_size_, std::min(parser_.bulk_bytes_missing(), kMaxBulkReadBytes));
  const absl::Span<char> space = parser_.PrepareRead(want);
  socket_->async_read_some(asio::buffer(space.data(), space.size()),
                           [self = shared_from_this(), size = space.size()](
                               const boost::system::error_code& ec, size_t n) {
                             if (!ec && n == size) {
                               self->read_size_ = std::min(self->read_size_ * 2, kMaxReadBytes);
                             }
                             self->OnRead(ec, n);
                           });
}

void Session::OnRead(const boost::system::error_code& ec, size_t bytes) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    input_done_ = true;  // end of input: answer what is in flight, then close
    if (ec != asio::error::eof) {
      Close();  // reset: nobody is listening
      return;
    }
    CloseIfFinished();
    return;
  }
  parser_.CommitRead(bytes);
  idle_ticks_ = 0;
  now_ = absl::Now();
  PrefetchAhead();
  Pump();
}

bool Session::MayHint() {
  // A connection whose commands the credentials check refuses gets no hints either: it could
  // otherwise make the node lock and look up keys its GETs would never reach. Decided once per
  // token (AUTH and HELLO change it).
  if (!hint_decided_ || hint_token_ != connection_.auth_token) {
    CallContext scratch;
    hint_allowed_ = FillCallContext(connection_, &scratch).ok();
    hint_token_ = connection_.auth_token;
    hint_decided_ = true;
  }
  return hint_allowed_;
}

void Session::PrefetchAhead() {
  // Reused by this thread's sessions.
  thread_local std::vector<absl::string_view> keys;
  keys.clear();
  const uint64_t max_key = state_.options.limits.max_key_bytes;
  auto add = [max_key](absl::string_view key) {
    if (!key.empty() && key.size() <= max_key) keys.push_back(key);  // else refused anyway
  };
  ScanAhead(parser_.Unconsumed(), kLookaheadCommands,
            [&](absl::Span<const absl::string_view> args) {
              if (args.size() == 2 && absl::EqualsIgnoreCase(args[0], "get")) {
                add(args[1]);
              } else if (args.size() > 1 && absl::EqualsIgnoreCase(args[0], "mget")) {
                for (size_t i = 1; i < args.size(); ++i) add(args[i]);
              }
            });
  if (keys.size() > kLookaheadKeys) keys.resize(kLookaheadKeys);
  // One key gains nothing: its read follows at once.
  if (keys.size() > 1 && MayHint()) state_.node->PrefetchReads(keys);
}

void Session::Pump() {
  if (pumping_ || closed_) return;
  pumping_ = true;
  while (!closed_ && !input_done_ && Dispatch()) {
  }
  pumping_ = false;
  if (closed_) return;
  ScheduleFlush();
  if (!input_done_ && parser_.Next() == RequestParser::Result::kNeedMore) Read();
  CloseIfFinished();
}

bool Session::Dispatch() {
  const RequestParser::Result parsed = parser_.Next();
  if (parsed == RequestParser::Result::kNeedMore) return false;
  if (parsed == RequestParser::Result::kError) {
    // Like Redis: answer the protocol error, then close once earlier replies are written.
    state_.protocol_errors.fetch_add(1, std::memory_order_relaxed);
    input_done_ = true;
    const uint64_t seq = queue_.Reserve();
    ++in_flight_;
    ReplyBuffer bytes;
    ReplyWriter(&bytes, connection_.protocol).Error(absl::StrCat("ERR ", parser_.error()));
    OnDelivered(seq, &bytes, 0, nullptr);
    return false;
  }
  const std::vector<absl::string_view>& args = parser_.args();
  const CommandSpec* spec = FindCommand(args[0]);
  if (write_in_flight_ || in_flight_ >= state_.options.max_commands_in_flight) return false;
  if (spec != nullptr && (spec->flags & (kCmdWrite | kCmdAfterPrevious)) != 0 && in_flight_ > 0) {
    return false;  // waits for the commands before it
  }
  const uint64_t seq = queue_.Reserve();
  ++in_flight_;
  if (spec != nullptr && (spec->flags & kCmdWrite) != 0) {
    write_in_flight_ = true;
    write_seq_ = seq;
  }
  state_.commands.fetch_add(1, std::memory_order_relaxed);
  connection_.last_command_time = now_;
  Invocation call{connection_, state_, absl::MakeConstSpan(args),
                  Reply(shared_from_this(), seq, connection_.protocol), now_};
  if (spec == nullptr) {
    call.reply.w().Error(UnknownCommand(args[0], absl::MakeConstSpan(args).subspan(1)));
  } else if (!ArityOk(*spec, args.size())) {
    call.reply.w().Error(WrongArity(args[0]));
  } else {
    connection_.last_command = spec->name;
    spec->handler(call);
  }
  if (call.close_after_reply) input_done_ = true;
  parser_.Consume();
  call.reply.Send();  // a no-op when the handler took the reply to answer later
  return !closed_;
}

void Session::OnDelivered(uint64_t seq, ReplyBuffer* bytes, uint64_t write_version,
                          ReadFacts* facts) {
  if (closed_) return;
  --in_flight_;
  if (write_in_flight_ && seq == write_seq_) write_in_flight_ = false;
  if (write_version > connection_.last_write_version) {
    connection_.last_write_version = write_version;
  }
  if (facts != nullptr && seq >= last_read_seq_) {
    last_read_seq_ = seq;
    connection_.has_last_read = true;
    std::swap(connection_.last_read, *facts);
  }
  const size_t limit = state_.options.max_output_bytes;
  if (bytes->size() > limit) {
    const size_t size = bytes->size();
    bytes->Clear();
    ReplyWriter(bytes, 2).Error(absl::StrCat("ERR reply of ", size,
                                             " bytes is larger than this connection's output "
                                             "limit of ",
                                             limit, " bytes"));
  }
  queue_.Complete(seq, bytes, &out_);
  if (out_.size() + queue_.held_bytes() > limit) {
    // The client sends commands and does not read the replies.
    state_.output_limit_closes.fetch_add(1, std::memory_order_relaxed);
    KV_LOG(DEBUG) << "resp: closing " << connection_.addr << ": more than " << limit
                  << " reply bytes waiting for the client to read them";
    Close();
    return;
  }
  if (!pumping_) {
    now_ = absl::Now();  // stalled commands may be dispatched now
    Pump();
  }
}

void Session::ScheduleFlush() {
  if (flush_scheduled_ || writing_ || closed_ || out_.empty()) return;
  // Like Redis (replies written before the loop sleeps): the write is queued behind the other
  // connections' input that is ready now, so a client reading many connections finds their
  // replies together. Written at once, each reply wakes a client that has gone idle, and on a
  // VM a wake-up (an IPI) costs more than the command.
  flush_scheduled_ = true;
  asio::post(executor_, [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->Flush();
  });
}

void Session::Flush() {
  if (writing_ || closed_ || out_.empty()) return;
  std::array<asio::const_buffer, kMaxGather> buffers;
  const size_t n = std::min(out_.segment_count(), kMaxGather);
  for (size_t i = 0; i < n; ++i) {
    const absl::string_view s = out_.segment(i);
    buffers[i] = asio::const_buffer(s.data(), s.size());
  }
  if (!write_blocked_ && direct_writes_) {
    // The socket is non-blocking: a reply that fits its buffer (nearly all) is written here,
    // without a completion handler and another turn of the loop for it.
    boost::system::error_code ec;
    const size_t written =
        n == 1 ? socket_->write_some(buffers[0], ec) : socket_->write_some(buffers, ec);
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      if (ec) {
        Close();
        return;
      }
      idle_ticks_ = 0;
      out_.Consume(written);
      if (out_.empty()) {
        CloseIfFinished();
        return;
      }
    }
    write_blocked_ = true;  // the rest waits for room; the next Flush too, until it is written
    Flush();
    return;
  }
  writing_ = true;
  out_.Seal();
  auto done = [self = shared_from_this()](const boost::system::error_code& ec, size_t written) {
    self->OnWrite(ec, written);
  };
  if (n == 1) {
    socket_->async_write_some(buffers[0], std::move(done));
  } else {
    socket_->async_write_some(buffers, std::move(done));  // unused entries are empty
  }
}

void Session::OnWrite(const boost::system::error_code& ec, size_t bytes) {
  writing_ = false;
  if (closed_) return;
  if (ec) {
    Close();
    return;
  }
  idle_ticks_ = 0;
  out_.Consume(bytes);
  if (!out_.empty()) {
    Flush();
    return;
  }
  write_blocked_ = false;
  CloseIfFinished();
}

void Session::CloseIfFinished() {
  if (closed_ || !input_done_ || in_flight_ > 0 || writing_ || !out_.empty()) return;
  Close();
}

void Session::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  socket_->shutdown(tcp::socket::shutdown_send, ec);
  socket_->close(ec);  // cancels pending operations; their handlers see closed_
  out_.Clear();
  absl::MutexLock lock(&shared_->mu);
  if (counted_open_) {
    --shared_->open_sessions;
    state_.connections_open.fetch_sub(1, std::memory_order_relaxed);
  }
  counted_open_ = false;
}

}  // namespace kv::server::resp
