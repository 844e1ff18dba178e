#include "tests/integration/fault_check.h"

#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "tests/checker/hash.h"
#include "tests/checker/jsonl.h"
#include "tests/checker/proto_convert.h"
#include "tests/support/change_log_reader.h"
#include "tests/support/raw_kv.h"

namespace kv::testing {

using checker::NodeEntry;
using checker::Operation;

namespace {

std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// A full node's live entries from one Snapshot, and the version they are consistent at. Values
// the node has not fetched yet (invalidations) come without a hash: only versions are compared.
absl::Status ReadSnapshot(const std::string& address, NodeContent* out) {
  auto stub = kvstore::v1::Replication::NewStub(ChannelTo(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  kvstore::v1::SnapshotRequest req;
  req.set_node_id("fault-check");
  auto reader = stub->Snapshot(&ctx, req);
  kvstore::v1::SnapshotChunk chunk;
  out->entries.clear();
  bool last = false;
  while (reader->Read(&chunk)) {
    out->version = chunk.version();
    for (const auto& e : chunk.entries()) out->entries.push_back(checker::NodeEntryFromEntry(e));
    for (const auto& e : chunk.missing_values()) {
      NodeEntry n = checker::NodeEntryFromEntry(e);
      n.has_value_hash = false;
      out->entries.push_back(std::move(n));
    }
    last = chunk.last();
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        absl::StrCat("Snapshot of ", address, ": ", s.error_message()));
  }
  if (!last) return absl::DataLossError(absl::StrCat("Snapshot of ", address, " ended early"));
  return absl::OkStatus();
}

// A cache edge's view of every key: one recorded read each, with min_version = head.
absl::Status ReadEveryKey(const ClusterNode& node, const std::vector<std::string>& keys,
                          uint64_t head, checker::History* history, uint64_t client,
                          NodeContent* out) {
  RawKv kv(node.address());
  out->entries.clear();
  out->version = head;
  for (const std::string& key : keys) {
    Operation op;
    op.client = client;
    op.node = node.name;
    op.kind = checker::OpKind::kGet;
    op.key = key;
    op.min_version = head;
    op.bound_micros = absl::ToInt64Microseconds(kEdgeMaxStaleness);
    uint64_t id = history->Begin(op);
    kvstore::v1::GetResponse resp;
    grpc::Status s = kv.Get(key, &resp, MinVersion(head));
    history->End(id,
                 s.ok() ? checker::Outcome::kOk
                        : checker::OutcomeForCode(static_cast<absl::StatusCode>(s.error_code())),
                 [&](Operation& o) {
                   if (s.ok()) {
                     checker::FillFromGetResponse(resp, &o);
                   } else {
                     o.error = s.error_message();
                   }
                 });
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("reading ", key, " at ", node.name, ": ", s.error_message()));
    }
    if (resp.found()) out->entries.push_back(checker::NodeEntryFromEntry(resp.entry()));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> HeadOf(const ClusterNode& node) {
  auto s = node.process->Status();
  if (!s.ok()) return s.status();
  return s->head_version();
}

}  // namespace

LogTap::LogTap(std::string address) : address_(std::move(address)) {
  thread_ = std::thread([this] { Run(); });
}

LogTap::~LogTap() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
    if (current_ != nullptr) current_->TryCancel();
  }
  thread_.join();
}

void LogTap::Run() {
  auto stub = kvstore::v1::Replication::NewStub(ChannelTo(address_));
  while (true) {
    grpc::ClientContext ctx;
    uint64_t next;
    {
      absl::MutexLock l(&mu_);
      if (stop_ || !error_.empty()) return;
      current_ = &ctx;
      next = changes_.size() + 1;
    }
    auto stream = stub->Subscribe(&ctx);
    kvstore::v1::DownstreamMessage hello;
    hello.mutable_hello()->set_from_version(next);
    hello.mutable_hello()->set_node_id("fault-log-tap");
    hello.mutable_hello()->set_mode("full");  // a reader of the log, as a full edge reads it
    kvstore::v1::UpstreamMessage msg;
    if (stream->Write(hello)) {
      while (stream->Read(&msg)) {
        absl::MutexLock l(&mu_);
        if (msg.has_reset()) {
          error_ = absl::StrCat("log tap RESET at version ", next, ": ", msg.reset().reason());
          break;
        }
        for (const auto& c : msg.changes()) {
          if (c.version() != changes_.size() + 1) {
            error_ = absl::StrCat("log tap: gap, expected version ", changes_.size() + 1, ", got ",
                                  c.version());
            break;
          }
          changes_.push_back(c);
        }
        if (!error_.empty()) break;
      }
    }
    ctx.TryCancel();
    stream->Finish().IgnoreError();
    {
      absl::MutexLock l(&mu_);
      current_ = nullptr;
      if (stop_) return;
    }
    // The central node is restarting, or the stream was cut: resume where it stopped.
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::StatusOr<std::vector<kvstore::v1::Change>> LogTap::Changes(uint64_t until,
                                                                 absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !error_.empty() || changes_.size() >= until;
  };
  mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  if (!error_.empty()) return absl::DataLossError(error_);
  if (changes_.size() < until) {
    return absl::DeadlineExceededError(
        absl::StrCat("log tap has ", changes_.size(), " changes, wanted ", until));
  }
  return std::vector<kvstore::v1::Change>(changes_.begin(), changes_.begin() + until);
}

absl::StatusOr<FinalState> CollectFinalState(FaultCluster& cluster,
                                             const std::vector<std::string>& keys,
                                             checker::History* history, uint64_t reader_client,
                                             LogTap* tap, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  FinalState state;
  std::string why = "no attempt";
  ClusterNode& central = cluster.central();
  // Retried while the head moves (the expiry sweep still deleting keys that expired late).
  for (bool done = false; !done;) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("the cluster did not settle: ", why));
    }
    absl::StatusOr<uint64_t> head = HeadOf(central);
    if (!head.ok()) {
      why = absl::StrCat("central Status: ", head.status().message());
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    state.head = *head;
    for (ClusterNode* e : cluster.edges()) {
      bool caught_up = WaitFor(
          [&] {
            auto s = e->process->Status();
            return s.ok() && s->head_version() >= state.head &&
                   s->replication().pending_value_fetches() == 0;
          },
          std::max(deadline - absl::Now(), absl::ZeroDuration()));
      if (!caught_up) {
        auto s = e->process->Status();
        return absl::DeadlineExceededError(
            absl::StrCat(e->name, " did not apply the central head ", state.head, ": ",
                         s.ok() ? s->ShortDebugString() : std::string(s.status().message())));
      }
    }
    state.contents.clear();
    done = true;
    for (ClusterNode* n : cluster.nodes()) {
      NodeContent content;
      content.node = n->name;
      absl::Status s = n->cache()
                           ? ReadEveryKey(*n, keys, state.head, history, reader_client, &content)
                           : ReadSnapshot(n->address(), &content);
      if (!s.ok() || content.version != state.head) {
        why = s.ok()
                  ? absl::StrCat(n->name, " snapshot at ", content.version, ", head ", state.head)
                  : std::string(s.message());
        done = false;
        break;
      }
      state.contents.push_back(std::move(content));
    }
    state.now_unix_seconds = absl::ToUnixSeconds(absl::Now());
    if (done) {
      head = HeadOf(central);
      done = head.ok() && *head == state.head;
      why = "the central head moved while contents were read";
    }
    if (!done) absl::SleepFor(absl::Milliseconds(200));
  }

  absl::StatusOr<std::vector<kvstore::v1::Change>> changes =
      tap != nullptr ? tap->Changes(state.head, absl::Seconds(20))
                     : ReadChangeLog(central.address(), 1, state.head);
  if (!changes.ok()) return changes.status();
  // Invalidations carry no value; the central node's content supplies it for current ones.
  std::map<std::pair<std::string, uint64_t>, uint64_t> central_hashes;
  for (const NodeEntry& e : state.contents.front().entries) {
    if (e.has_value_hash) central_hashes[{e.key, e.version}] = e.value_hash;
  }
  for (const auto& c : *changes) {
    // ReadChangeLog may return the rest of its last batch; the contents are at `head`.
    if (c.version() > state.head) break;
    for (checker::LogEntry& e : checker::LogEntriesFromChange(c)) {
      if (!e.has_value_hash) {
        auto it = central_hashes.find({e.key, e.version});
        if (it != central_hashes.end()) {
          e.has_value_hash = true;
          e.value_hash = it->second;
        }
      }
      state.log.push_back(std::move(e));
    }
  }
  return state;
}

std::string Verdict::Summary() const {
  std::string out;
  absl::StrAppend(&out, "all ops:  ", all.Summary());
  absl::StrAppend(&out, "sessions: ", sessions.Summary());
  absl::StrAppend(
      &out, "convergence: ",
      convergence.ok() ? "every node holds the log's final state\n" : convergence.Summary());
  return out;
}

Verdict CheckRun(const std::vector<Operation>& ops, const std::set<uint64_t>& session_clients,
                 const FinalState& state) {
  Verdict v;
  checker::CheckOptions no_sessions;
  no_sessions.check_monotonic_reads = false;
  no_sessions.check_read_your_writes = false;
  v.all = checker::Check(ops, state.log, no_sessions);

  // Reads of clients without a session count as unanswered (the checker skips them), so op
  // numbers stay those of the saved history; every write stays, to explain the log.
  std::vector<Operation> session_ops = ops;
  for (Operation& op : session_ops) {
    if (op.kind == checker::OpKind::kGet && session_clients.count(op.client) == 0) {
      op.outcome = checker::Outcome::kUnknown;
    }
  }
  v.sessions = checker::Check(session_ops, state.log, {});

  std::vector<NodeEntry> expected = checker::ExpectedContent(state.log, &ops);
  for (const NodeContent& c : state.contents) {
    checker::CheckConvergence(c.node, c.entries, expected,
                              {.now_unix_seconds = state.now_unix_seconds}, &v.convergence);
  }
  return v;
}

std::string SaveArtifacts(const std::string& dir, const std::vector<Operation>& ops,
                          const FinalState& state, const FaultCluster& cluster) {
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  checker::WriteHistoryFile(dir + "/history.jsonl", ops).IgnoreError();
  checker::WriteLogFile(dir + "/log.jsonl", state.log).IgnoreError();
  std::string command = absl::StrCat("kvcheck --history ", dir, "/history.jsonl --log ", dir,
                                     "/log.jsonl --now ", state.now_unix_seconds);
  for (const NodeContent& c : state.contents) {
    std::string file = absl::StrCat(dir, "/content-", c.node, ".jsonl");
    checker::WriteContentFile(file, c.entries).IgnoreError();
    absl::StrAppend(&command, " --node ", c.node, "=", file);
  }
  cluster.SaveLogs(dir);
  return command;
}

}  // namespace kv::testing
