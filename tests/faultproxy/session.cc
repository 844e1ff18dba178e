#include "tests/faultproxy/session.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <utility>

#include "common/log.h"

namespace kv::testing::internal {
namespace {

// Lets a capped direction send this far ahead of its schedule: a small burst, so a slice that
// becomes due a little late does not lose its share of the rate.
constexpr auto kBurstAllowance = std::chrono::milliseconds(10);

// A capped direction writes slices of about 10 ms worth of bytes so the rate is smooth even for
// large chunks.
size_t SliceBytes(uint64_t bytes_per_second) {
  return static_cast<size_t>(std::clamp<uint64_t>(bytes_per_second / 100, 1, 16 * 1024));
}

SteadyClock::duration ChunkDelay(const DirectionFaults& f, double jitter_unit) {
  absl::Duration d = f.delay + f.jitter * jitter_unit;
  if (d <= absl::ZeroDuration()) return SteadyClock::duration::zero();
  return std::chrono::duration_cast<SteadyClock::duration>(absl::ToChronoNanoseconds(d));
}

}  // namespace

Session::Session(ProxyCore& core, uint64_t id, tcp::socket client)
    : core_(core),
      id_(id),
      client_(std::move(client)),
      server_(core.io()),
      pipes_{Pipe(Direction::kClientToServer, &client_, &server_, core.io()),
             Pipe(Direction::kServerToClient, &server_, &client_, core.io())} {
  for (Pipe& p : pipes_) p.read_buf.resize(core_.options().read_chunk_bytes);
}

void Session::Start() {
  boost::asio::async_connect(
      server_, core_.target(),
      [self = shared_from_this()](const boost::system::error_code& ec, const tcp::endpoint&) {
        self->OnConnected(ec);
      });
}

void Session::OnConnected(const boost::system::error_code& ec) {
  if (closed_) return;
  if (ec) {
    KV_LOG(DEBUG) << "faultproxy: connect to " << core_.options().target_address
                  << " failed: " << ec.message();
    core_.counters().connect_failures++;
    Close(/*reset=*/true);
    return;
  }
  connected_ = true;
  boost::system::error_code ignored;
  // Delays are the proxy's to add; Nagle would add its own.
  client_.set_option(tcp::no_delay(true), ignored);
  server_.set_option(tcp::no_delay(true), ignored);
  for (Pipe& p : pipes_) StartRead(p);
}

void Session::StartRead(Pipe& p) {
  if (closed_ || p.reading || p.src_eof) return;
  // Full: stop reading so the sender's TCP window closes; OnWritten restarts us.
  if (p.queued_bytes >= core_.options().max_queued_bytes) return;
  p.reading = true;
  p.src->async_read_some(boost::asio::buffer(p.read_buf),
                         [self = shared_from_this(), &p](const boost::system::error_code& ec,
                                                         size_t n) { self->OnRead(p, ec, n); });
}

void Session::OnRead(Pipe& p, const boost::system::error_code& ec, size_t n) {
  p.reading = false;
  if (closed_) return;
  if (n > 0) {
    Chunk c;
    c.data.assign(p.read_buf.begin(), p.read_buf.begin() + n);
    c.arrival = SteadyClock::now();
    c.jitter_unit = core_.SampleJitterUnit();
    p.queue.push_back(std::move(c));
    p.queued_bytes += n;
    core_.counters().queued[static_cast<int>(p.dir)] += n;
  }
  if (ec == boost::asio::error::eof) {
    p.src_eof = true;  // pass the FIN on once the queue is drained
  } else if (ec) {
    // A reset or error on one side: reset the other side too, as a broken link would.
    Close(/*reset=*/true);
    return;
  }
  StartRead(p);
  Pump(p);
}

void Session::Pump(Pipe& p) {
  if (closed_ || !connected_ || p.writing) return;
  if (p.queue.empty()) {
    if (p.src_eof && !p.dst_shut) {
      p.dst_shut = true;
      boost::system::error_code ignored;
      p.dst->shutdown(tcp::socket::shutdown_send, ignored);
      if (pipes_[0].dst_shut && pipes_[1].dst_shut) Close(/*reset=*/false);
    }
    return;
  }
  const DirectionFaults f = core_.faults(p.dir);
  if (f.paused) return;  // Resume() kicks us
  const SteadyClock::time_point now = SteadyClock::now();
  Chunk& head = p.queue.front();
  const SteadyClock::time_point due = head.arrival + ChunkDelay(f, head.jitter_unit);
  if (now < due) {
    ArmTimer(p, due);
    return;
  }
  size_t n = head.data.size() - head.offset;
  if (f.bytes_per_second > 0) {
    // GCRA form of a token bucket: the link is busy until free_at; sending n bytes moves
    // free_at on by n / rate.
    SteadyClock::time_point& free_at = core_.link_free_at(p.dir);
    if (free_at - kBurstAllowance > now) {
      ArmTimer(p, free_at - kBurstAllowance);
      return;
    }
    n = std::min(n, SliceBytes(f.bytes_per_second));
    free_at = std::max(free_at, now) +
              std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(
                  static_cast<double>(n) / static_cast<double>(f.bytes_per_second)));
  }
  p.writing = true;
  boost::asio::async_write(
      *p.dst, boost::asio::buffer(head.data.data() + head.offset, n),
      [self = shared_from_this(), &p](const boost::system::error_code& ec, size_t written) {
        self->OnWritten(p, ec, written);
      });
}

void Session::ArmTimer(Pipe& p, SteadyClock::time_point when) {
  // Re-arming cancels the previous wait; its handler sees operation_aborted and does nothing.
  p.timer.expires_at(when);
  p.timer.async_wait([self = shared_from_this(), &p](const boost::system::error_code& ec) {
    if (!ec) self->Pump(p);
  });
}

void Session::OnWritten(Pipe& p, const boost::system::error_code& ec, size_t n) {
  p.writing = false;
  if (closed_) return;
  if (ec) {
    Close(/*reset=*/true);
    return;
  }
  Chunk& head = p.queue.front();
  head.offset += n;
  if (head.offset == head.data.size()) p.queue.pop_front();
  p.queued_bytes -= n;
  const int d = static_cast<int>(p.dir);
  core_.counters().queued[d] -= n;
  core_.counters().forwarded[d] += n;
  StartRead(p);
  Pump(p);
}

void Session::Kick() {
  for (Pipe& p : pipes_) {
    p.timer.cancel();
    Pump(p);
  }
}

void Session::Close(bool reset) {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  for (tcp::socket* s : {&client_, &server_}) {
    if (!s->is_open()) continue;
    // SO_LINGER with timeout 0 makes close() send an RST.
    if (reset) s->set_option(boost::asio::socket_base::linger(true, 0), ignored);
    s->close(ignored);
  }
  for (Pipe& p : pipes_) {
    p.timer.cancel();
    core_.counters().queued[static_cast<int>(p.dir)] -= p.queued_bytes;
    p.queued_bytes = 0;  // the chunks themselves stay until any write in flight completes
  }
  core_.OnSessionClosed(id_);
}

}  // namespace kv::testing::internal
