#include "server/resp/connection.h"

#include <algorithm>

namespace kv::server::resp {

void FillReadOptions(const Connection& connection, kvstore::v1::ReadOptions* options) {
  options->set_consistency(connection.consistency);
  options->set_max_staleness_micros(connection.max_staleness_micros);
  uint64_t min_version = connection.min_version;
  if (connection.read_your_writes) {
    min_version = std::max(min_version, connection.last_write_version);
  }
  options->set_min_version(min_version);
  options->set_allow_stale(connection.allow_stale);
}

}  // namespace kv::server::resp
