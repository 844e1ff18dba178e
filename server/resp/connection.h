#pragma once
// What one RESP connection remembers between commands: who it is (id, addresses, name), how it
// speaks (RESP2 or RESP3), its credentials (the bearer token from AUTH or HELLO ... AUTH), and
// its read preferences (KV.READOPTS, KV.ALLOWSTALE) and session facts (the version of its last
// write, the freshness of its last read).
//
// Owned by the connection's Session and touched only on its I/O thread. Commands read it when
// they are dispatched (in command order), so a change by one command applies to every later one.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kvstore/v1/kv.pb.h"
#include "server/node/node.h"
#include "server/resp/resp_options.h"

namespace kv::server::resp {

// The freshness of a read, as KV.LASTREAD reports it (ReadInfo's fields, without protobuf
// allocations on the read path).
struct ReadFacts {
  void Set(const kvstore::v1::ReadInfo& info) {
    staleness_micros = info.staleness_micros();
    source = info.source();
    as_of_version = info.as_of_version();
    stale = info.stale();
    node_id.assign(info.node_id());
  }
  void Set(const SharedReadInfo& info) {
    staleness_micros = info.staleness_micros;
    source = info.source;
    as_of_version = info.as_of_version;
    stale = false;  // a shared read is never a stale fallback
    node_id.assign(info.node_id.data(), info.node_id.size());
  }

  int64_t staleness_micros = 0;
  kvstore::v1::Source source = kvstore::v1::SOURCE_UNSPECIFIED;
  uint64_t as_of_version = 0;
  bool stale = false;
  std::string node_id;
};

struct Connection {
  // Unique per server, from 1 (CLIENT ID).
  uint64_t id = 0;
  // "ipv4:127.0.0.1:5555", as gRPC spells peers (CallContext::peer, logs).
  std::string peer;
  // "127.0.0.1:5555" and the local end "127.0.0.1:6379" (CLIENT INFO's addr and laddr).
  std::string addr;
  std::string laddr;
  absl::Time created = absl::UnixEpoch();

  // 2 or 3 (HELLO).
  int protocol = 2;
  // CLIENT SETNAME / HELLO SETNAME; CLIENT SETINFO LIB-NAME / LIB-VER.
  std::string name;
  std::string lib_name;
  std::string lib_version;

  // The raw bearer token from AUTH <token>, AUTH <user> <token> or HELLO ... AUTH <user>
  // <token>; empty = none. Not checked here: FillCallContext hands it to the server's admit
  // check on every command.
  std::string auth_token;
  // The server's credentials check (RespServerOptions::admit); null or empty = none.
  const AdmitFn* admit = nullptr;

  // Read options of every read of this connection (KV.READOPTS, KV.ALLOWSTALE).
  kvstore::v1::Consistency consistency = kvstore::v1::CONSISTENCY_BOUNDED;
  // 0 = the node's --max-staleness.
  int64_t max_staleness_micros = 0;
  // The answer reflects at least this version (KV.READOPTS MINVERSION).
  uint64_t min_version = 0;
  bool allow_stale = false;
  // Reads reflect this connection's own writes: min_version is raised to last_write_version.
  bool read_your_writes = true;

  // The version of the last write (SET, or DEL that deleted), 0 = none (KV.LASTVERSION).
  uint64_t last_write_version = 0;
  // Freshness of the last read (KV.LASTREAD); has_last_read = false before the first.
  bool has_last_read = false;
  ReadFacts last_read;

  // The last command's name, lower case (CLIENT INFO's cmd), and when it arrived.
  std::string last_command;
  absl::Time last_command_time = absl::UnixEpoch();
};

// The read options of `connection`'s next read.
void FillReadOptions(const Connection& connection, kvstore::v1::ReadOptions* options);

}  // namespace kv::server::resp
