#include "bench/kvbench/connections.h"

#include "absl/strings/str_cat.h"

namespace kv::kvbench {

std::shared_ptr<grpc::Channel> NewDistinctChannel(const std::string& target, int index,
                                                  const tls::ClientChannelSecurity& security) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("kvbench.connection", index);
  // Raw outcomes only: no transparent retries hiding failures (and no retry filter per call).
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return security.CreateChannel(target, args);
}

absl::StatusOr<std::unique_ptr<Connections>> Connections::Open(
    const std::vector<std::string>& targets, int count, absl::Duration connect_timeout,
    const tls::ClientChannelSecurity& security) {
  if (targets.empty()) return absl::InvalidArgumentError("no target given (--target HOST:PORT)");
  auto c = std::unique_ptr<Connections>(new Connections);
  for (int i = 0; i < std::max(1, count); ++i) {
    const std::string& target = targets[i % targets.size()];
    c->channels_.push_back(NewDistinctChannel(target, i, security));
    c->stubs_.push_back(kvstore::v1::KV::NewStub(c->channels_.back()));
    c->targets_.push_back(target);
  }
  const auto deadline =
      std::chrono::system_clock::now() + absl::ToChronoMicroseconds(connect_timeout);
  for (int i = 0; i < c->size(); ++i) {
    if (!c->channels_[i]->WaitForConnected(deadline)) {
      return absl::UnavailableError(absl::StrCat("cannot connect to ", c->targets_[i], " within ",
                                                 absl::FormatDuration(connect_timeout),
                                                 " (is a kvd serving there?)"));
    }
  }
  return c;
}

}  // namespace kv::kvbench
