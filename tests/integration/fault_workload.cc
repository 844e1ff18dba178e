#include "tests/integration/fault_workload.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/channel_target.h"
#include "kvstore/v1/kv.grpc.pb.h"
#include "tests/checker/hash.h"
#include "tests/checker/proto_convert.h"

namespace kv::testing {

using checker::Operation;
using checker::OpKind;
using checker::Outcome;

std::string WorkloadKey(int i) { return absl::StrFormat("k/%02d", i); }

namespace {

std::unique_ptr<kvstore::v1::KV::Stub> StubFor(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // Own connections per channel, and quick reconnects: a killed node comes back on the same
  // port within a second, and clients should find it again soon after.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  return kvstore::v1::KV::NewStub(
      grpc::CreateCustomChannel(ChannelTarget(address), grpc::InsecureChannelCredentials(), args));
}

Outcome OutcomeOf(const grpc::Status& s) {
  return s.ok() ? Outcome::kOk
                : checker::OutcomeForCode(static_cast<absl::StatusCode>(s.error_code()));
}

std::string ErrorOf(const grpc::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())), ": ",
                      s.error_message());
}

}  // namespace

class Workload::Client {
 public:
  // A writer also reads; `home` is the index of the only target the client calls, -1 = any.
  Client(uint64_t id, bool writer, int home, bool session, const std::vector<Target>& targets,
         checker::History* history, const WorkloadOptions& options, uint64_t seed)
      : id_(id),
        writer_(writer),
        home_(home),
        session_(session),
        targets_(targets),
        history_(history),
        options_(options),
        rng_(seed) {
    for (const Target& t : targets_) stubs_.push_back(StubFor(t.address));
  }

  void Run(const std::atomic<bool>& stop) {
    while (!stop.load()) {
      bool ok = writer_ && Dice(100) < 65
                    ? Write()
                    : Read(home_ >= 0 ? home_ : static_cast<int>(Dice(targets_.size())));
      int64_t think = absl::ToInt64Microseconds(options_.max_think);
      if (think > 0) absl::SleepFor(absl::Microseconds(Dice(think + 1)));
      // A node that is down fails calls at once: do not spin thousands of them.
      if (!ok) absl::SleepFor(absl::Milliseconds(20));
    }
  }

  WorkloadCounts counts() const { return counts_; }

 private:
  uint64_t Dice(uint64_t n) { return n == 0 ? 0 : rng_() % n; }

  std::string PickKey() {
    // Half the calls go to a few hot keys, so reads and writes of one key interleave.
    int hot = std::min(options_.keys, 8);
    return WorkloadKey(Dice(2) == 0 ? Dice(hot) : Dice(options_.keys));
  }

  void SetDeadline(grpc::ClientContext* ctx, absl::Duration d) {
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + d));
  }

  // Write, Delete, Read: false when the call failed without a definite answer (the caller
  // then pauses).
  bool Write() {
    // Mostly at the central node; the rest forwarded by an edge (through its faulty link).
    int t = home_ >= 0                               ? home_
            : Dice(100) < 75 || targets_.size() == 1 ? 0
                                                     : 1 + Dice(targets_.size() - 1);
    const Target& target = targets_[t];
    std::string key = PickKey();
    uint64_t dice = Dice(100);
    if (dice >= 62 && dice < 72) return Delete(t, key);
    if (dice >= 54 && dice < 62) return Commit(t);
    kvstore::v1::PutRequest req;
    req.set_key(key);
    // Unique values: the checker matches writes to log entries by value.
    std::string value = absl::StrCat("c", id_, "-", ++seq_, "-", Dice(1000000));
    if (dice >= 72 && dice < 80) req.set_ttl_seconds(1);
    if (dice >= 80 && dice < 88) value.append(3000, static_cast<char>('a' + seq_ % 26));
    if (dice >= 88) {
      auto it = last_version_.find(key);
      req.set_if_version(it == last_version_.end() ? 0 : it->second);
    }
    req.set_value(value);
    Operation op;
    op.client = id_;
    op.node = target.name;
    op.kind = OpKind::kPut;
    op.key = key;
    op.value_hash = checker::HashValue(value);
    uint64_t h = history_->Begin(op);
    grpc::ClientContext ctx;
    SetDeadline(&ctx, options_.write_deadline);
    kvstore::v1::PutResponse resp;
    grpc::Status s = stubs_[t]->Put(&ctx, req, &resp);
    Outcome outcome = OutcomeOf(s);
    history_->End(h, outcome, [&](Operation& o) {
      if (s.ok()) {
        checker::FillFromPutResponse(resp, &o);
      } else {
        o.error = ErrorOf(s);
      }
    });
    CountWrite(outcome);
    if (s.ok()) {
      session_version_ = std::max(session_version_, resp.version());
      last_version_[key] = resp.version();
    }
    return outcome != Outcome::kUnknown;
  }

  bool Delete(int t, const std::string& key) {
    kvstore::v1::DeleteRequest req;
    req.set_key(key);
    Operation op;
    op.client = id_;
    op.node = targets_[t].name;
    op.kind = OpKind::kDelete;
    op.key = key;
    uint64_t h = history_->Begin(op);
    grpc::ClientContext ctx;
    SetDeadline(&ctx, options_.write_deadline);
    kvstore::v1::DeleteResponse resp;
    grpc::Status s = stubs_[t]->Delete(&ctx, req, &resp);
    Outcome outcome = OutcomeOf(s);
    history_->End(h, outcome, [&](Operation& o) {
      if (s.ok()) {
        checker::FillFromDeleteResponse(resp, &o);
      } else {
        o.error = ErrorOf(s);
      }
    });
    CountWrite(outcome);
    if (s.ok()) {
      session_version_ = std::max(session_version_, resp.version());
      last_version_[key] = 0;
    }
    return outcome != Outcome::kUnknown;
  }

  // A commit of puts of 2-4 distinct keys (unique values; some large enough to travel as
  // invalidations), recorded as one put per key with a common group.
  bool Commit(int t) {
    kvstore::v1::CommitRequest req;
    std::vector<std::string> keys = DistinctKeys(2 + Dice(3));
    const uint64_t group = NewGroup();
    std::vector<uint64_t> ids;
    for (const std::string& key : keys) {
      std::string value = absl::StrCat("c", id_, "-", ++seq_, "-", Dice(1000000));
      if (Dice(100) < 15) value.append(3000, static_cast<char>('a' + seq_ % 26));
      auto* put = req.add_mutations()->mutable_put();
      put->set_key(key);
      put->set_value(value);
      Operation op;
      op.client = id_;
      op.node = targets_[t].name;
      op.kind = OpKind::kPut;
      op.key = key;
      op.value_hash = checker::HashValue(value);
      op.group = group;
      ids.push_back(history_->Begin(op));
    }
    grpc::ClientContext ctx;
    SetDeadline(&ctx, options_.write_deadline);
    kvstore::v1::CommitResponse resp;
    grpc::Status s = stubs_[t]->Commit(&ctx, req, &resp);
    Outcome outcome = OutcomeOf(s);
    for (uint64_t h : ids) {
      history_->End(h, outcome, [&](Operation& o) {
        if (s.ok()) {
          o.version = resp.version();
        } else {
          o.error = ErrorOf(s);
        }
      });
    }
    CountWrite(outcome);
    if (s.ok()) {
      session_version_ = std::max(session_version_, resp.version());
      for (const auto& key : keys) last_version_[key] = resp.version();
    }
    return outcome != Outcome::kUnknown;
  }

  std::vector<std::string> DistinctKeys(int n) {
    std::vector<std::string> keys;
    while (static_cast<int>(keys.size()) < n) {
      std::string k = PickKey();
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
    return keys;
  }

  // A group id no other client uses (commits and BatchGets; Operation::group).
  uint64_t NewGroup() { return (id_ << 32) | ++groups_; }

  void CountWrite(Outcome outcome) {
    if (outcome == Outcome::kOk) {
      ++counts_.writes_ok;
    } else if (outcome == Outcome::kFailed) {
      ++counts_.writes_failed;
    } else {
      ++counts_.writes_unknown;
    }
  }

  // A read's options, drawn from a mix; fills the request side of `op`.
  kvstore::v1::ReadOptions PickOptions(const Target& target, Operation* op) {
    kvstore::v1::ReadOptions o;
    uint64_t dice = Dice(100);
    if (dice < 50) {
      // The node's default bound.
    } else if (dice < 62) {
      o.set_max_staleness_micros(250'000);
    } else if (dice < 72) {
      o.set_max_staleness_micros(3'000'000);
    } else if (dice < 80) {
      // Tighter than a healthy edge's staleness: usually forwarded.
      o.set_max_staleness_micros(20'000);
    } else if (dice < 90) {
      o.set_max_staleness_micros(200'000);
      o.set_allow_stale(true);
    } else {
      o.set_consistency(kvstore::v1::CONSISTENCY_STRONG);
    }
    if (session_) o.set_min_version(session_version_);
    op->strong = o.consistency() == kvstore::v1::CONSISTENCY_STRONG;
    op->min_version = o.min_version();
    op->bound_micros = op->strong                     ? 0
                       : o.max_staleness_micros() > 0 ? o.max_staleness_micros()
                                                      : target.default_bound_micros;
    return o;
  }

  bool Read(int t) {
    const Target& target = targets_[t];
    Operation op;
    op.client = id_;
    op.node = target.name;
    op.kind = OpKind::kGet;
    kvstore::v1::ReadOptions options = PickOptions(target, &op);
    if (Dice(100) < 15) return BatchRead(t, options, op);
    op.key = PickKey();
    kvstore::v1::GetRequest req;
    req.set_key(op.key);
    *req.mutable_options() = options;
    uint64_t h = history_->Begin(op);
    grpc::ClientContext ctx;
    SetDeadline(&ctx, options_.read_deadline);
    kvstore::v1::GetResponse resp;
    grpc::Status s = stubs_[t]->Get(&ctx, req, &resp);
    history_->End(h, OutcomeOf(s), [&](Operation& o) {
      if (s.ok()) {
        checker::FillFromGetResponse(resp, &o);
      } else {
        o.error = ErrorOf(s);
      }
    });
    if (!s.ok()) {
      ++counts_.reads_not_ok;
      return false;
    }
    ++counts_.reads_ok;
    session_version_ = std::max(session_version_, resp.info().as_of_version());
    last_version_[op.key] = resp.found() ? resp.entry().version() : 0;
    return true;
  }

  // A BatchGet of 2-4 distinct keys, recorded as one get per key with the batch's times.
  bool BatchRead(int t, const kvstore::v1::ReadOptions& options, const Operation& proto) {
    kvstore::v1::BatchGetRequest req;
    *req.mutable_options() = options;
    std::vector<std::string> keys = DistinctKeys(2 + Dice(3));
    const uint64_t group = NewGroup();
    std::vector<uint64_t> ids;
    for (const std::string& k : keys) {
      req.add_keys(k);
      Operation op = proto;
      op.key = k;
      op.group = group;
      ids.push_back(history_->Begin(op));
    }
    grpc::ClientContext ctx;
    SetDeadline(&ctx, options_.read_deadline);
    kvstore::v1::BatchGetResponse resp;
    grpc::Status s = stubs_[t]->BatchGet(&ctx, req, &resp);
    bool ok = s.ok() && resp.results_size() == static_cast<int>(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!ok) {
        history_->End(ids[i], s.ok() ? Outcome::kUnknown : OutcomeOf(s), [&](Operation& o) {
          o.error = s.ok() ? "BatchGet answered the wrong number of results" : ErrorOf(s);
        });
        continue;
      }
      const auto& r = resp.results(i);
      kvstore::v1::GetResponse one;
      one.set_found(r.found());
      *one.mutable_entry() = r.entry();
      *one.mutable_info() = resp.info();
      if (r.source() != kvstore::v1::SOURCE_UNSPECIFIED) one.mutable_info()->set_source(r.source());
      history_->End(ids[i], Outcome::kOk,
                    [&](Operation& o) { checker::FillFromGetResponse(one, &o); });
      last_version_[keys[i]] = r.found() ? r.entry().version() : 0;
    }
    if (!ok) {
      ++counts_.reads_not_ok;
      return false;
    }
    ++counts_.reads_ok;
    session_version_ = std::max(session_version_, resp.info().as_of_version());
    return true;
  }

  const uint64_t id_;
  const bool writer_;
  const int home_;
  const bool session_;
  const std::vector<Target>& targets_;
  checker::History* const history_;
  const WorkloadOptions& options_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<kvstore::v1::KV::Stub>> stubs_;
  // Highest version this client has seen: carried into reads as min_version (sessions).
  uint64_t session_version_ = 0;
  // The version this client last saw per key (0 = absent), for conditional puts.
  std::map<std::string, uint64_t> last_version_;
  uint64_t seq_ = 0;
  uint64_t groups_ = 0;
  WorkloadCounts counts_;
};

Workload::Workload(std::vector<Target> targets, checker::History* history, WorkloadOptions options,
                   uint64_t seed)
    : targets_(std::move(targets)), history_(history), options_(options), seed_(seed) {
  uint64_t id = 0;
  auto add = [&](bool writer, int home, bool session) {
    ++id;
    if (session) session_clients_.insert(id);
    clients_.push_back(std::make_unique<Client>(id, writer, home, session, targets_, history_,
                                                options_, checker::Mix64(seed_ * 1000 + id)));
  };
  // The first writer never waits on an edge's link, so writes keep flowing during partitions.
  for (int i = 0; i < options_.writers; ++i) add(true, i == 0 ? 0 : -1, true);
  for (int i = 0; i < options_.central_readers; ++i) add(false, 0, true);
  for (size_t t = 1; t < targets_.size(); ++t) {
    for (int i = 0; i < options_.readers_per_edge; ++i) add(false, t, i % 2 == 0);
  }
}

Workload::~Workload() { Stop(); }

void Workload::Start() {
  for (auto& c : clients_) {
    threads_.emplace_back([this, client = c.get()] { client->Run(stop_); });
  }
}

void Workload::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

WorkloadCounts Workload::counts() const {
  WorkloadCounts total;
  for (const auto& c : clients_) {
    WorkloadCounts n = c->counts();
    total.writes_ok += n.writes_ok;
    total.writes_failed += n.writes_failed;
    total.writes_unknown += n.writes_unknown;
    total.reads_ok += n.reads_ok;
    total.reads_not_ok += n.reads_not_ok;
  }
  return total;
}

std::vector<std::string> Workload::keys() const {
  std::vector<std::string> out;
  for (int i = 0; i < options_.keys; ++i) out.push_back(WorkloadKey(i));
  return out;
}

}  // namespace kv::testing
