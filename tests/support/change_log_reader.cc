#include "tests/support/change_log_reader.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "kvstore/v1/replication.grpc.pb.h"

namespace kv::testing {

absl::StatusOr<std::vector<kvstore::v1::Change>> ReadChangeLog(const std::string& address,
                                                               uint64_t from_version,
                                                               uint64_t until_version,
                                                               absl::Duration timeout) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // Fresh connections per channel: a node restarted on the same port must not be reached
  // through a connection of its previous life.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto stub = kvstore::v1::Replication::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  auto stream = stub->Subscribe(&ctx);
  kvstore::v1::DownstreamMessage hello;
  hello.mutable_hello()->set_from_version(from_version);
  hello.mutable_hello()->set_node_id("test-log-reader");
  hello.mutable_hello()->set_mode("full");  // a reader of the log, as a full edge reads it
  if (!stream->Write(hello)) return absl::UnavailableError("cannot subscribe");
  std::vector<kvstore::v1::Change> changes;
  kvstore::v1::UpstreamMessage msg;
  uint64_t expected = from_version;
  while (stream->Read(&msg)) {
    if (msg.has_reset()) {
      ctx.TryCancel();
      return absl::OutOfRangeError(absl::StrCat("RESET: ", msg.reset().reason()));
    }
    if (msg.has_start() && until_version == 0) {
      until_version = msg.start().head_version();
    }
    for (const auto& c : msg.changes()) {
      if (c.version() != expected) {
        ctx.TryCancel();
        return absl::DataLossError(
            absl::StrCat("gap: expected version ", expected, ", got ", c.version()));
      }
      ++expected;
      changes.push_back(c);
    }
    if (until_version != 0 && expected > until_version) break;
    if (until_version == 0 && msg.has_start() && msg.start().head_version() < from_version) break;
  }
  ctx.TryCancel();
  if (until_version != 0 && expected <= until_version) {
    return absl::DeadlineExceededError(
        absl::StrCat("read the log up to ", expected - 1, ", wanted ", until_version));
  }
  return changes;
}

}  // namespace kv::testing
