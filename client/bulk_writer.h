#pragma once
// BulkWriter over the gRPC callback API: a window of Puts in flight, one outcome per Put.
// Thread-safe (state under mu_); each in-flight Put owns its Call until Finish() deletes it.

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "client/client_impl.h"
#include "kv/client.h"

namespace kv::client {

class BulkWriterImpl final : public BulkWriter {
 public:
  // `client` must outlive the writer.
  BulkWriterImpl(ClientImpl* client, const BulkOptions& options);
  ~BulkWriterImpl() override;

  void Add(std::string key, std::string value, PutOptions options, Callback done) override;
  void Flush() override;
  int InFlight() override;

 private:
  struct Call;
  // Runs on a gRPC thread when a Put finishes.
  void Finish(Call* call, const grpc::Status& status);

  ClientImpl* const client_;
  const int window_;
  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // Keys with a Put in flight: a second Put of the same key waits, keeping file order per key.
  absl::flat_hash_set<std::string> keys_in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::client
