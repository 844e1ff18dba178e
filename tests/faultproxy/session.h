#pragma once
// Internal to FaultProxy: one proxied connection, a client socket and a server socket joined by
// two pipes (client->server and server->client). Each pipe reads chunks into a FIFO as fast as
// its source sends (up to max_queued_bytes) and releases the head chunk only when its delay has
// passed, the direction is not paused and the bandwidth schedule allows, so delay does not cap
// throughput and bytes never change order. Everything here runs on the proxy's io thread.

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "tests/faultproxy/proxy_core.h"

namespace kv::testing::internal {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ProxyCore& core, uint64_t id, tcp::socket client);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Connects to the target, then starts both pipes.
  void Start();
  // Re-evaluates both pipes after a fault setting changed.
  void Kick();
  // Closes both sockets; with `reset`, peers get an RST instead of a FIN. Idempotent.
  void Close(bool reset);

 private:
  struct Chunk {
    std::vector<char> data;
    size_t offset = 0;  // bytes of data already written
    SteadyClock::time_point arrival;
    double jitter_unit = 0;  // in [-1, 1], scales the direction's jitter
  };
  struct Pipe {
    Direction dir;
    tcp::socket* src;
    tcp::socket* dst;
    std::vector<char> read_buf;
    std::deque<Chunk> queue;
    size_t queued_bytes = 0;
    bool reading = false;
    bool writing = false;
    bool src_eof = false;   // the source sent FIN
    bool dst_shut = false;  // FIN passed on to the destination
    boost::asio::steady_timer timer;
    Pipe(Direction d, tcp::socket* s, tcp::socket* t, boost::asio::io_context& io)
        : dir(d), src(s), dst(t), timer(io) {}
  };

  void OnConnected(const boost::system::error_code& ec);
  void StartRead(Pipe& p);
  void OnRead(Pipe& p, const boost::system::error_code& ec, size_t n);
  // Writes the head chunk if it is due, else arms the pipe's timer for when it may be.
  void Pump(Pipe& p);
  void ArmTimer(Pipe& p, SteadyClock::time_point when);
  void OnWritten(Pipe& p, const boost::system::error_code& ec, size_t n);

  ProxyCore& core_;
  const uint64_t id_;
  tcp::socket client_;
  tcp::socket server_;
  std::array<Pipe, 2> pipes_;  // indexed by Direction
  bool connected_ = false;
  bool closed_ = false;
};

}  // namespace kv::testing::internal
