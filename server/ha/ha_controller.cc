#include "server/ha/ha_controller.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace kv::server {

absl::StatusOr<std::unique_ptr<HaController>> HaController::Create(HaOptions options,
                                                                   Clock* clock) {
  if (options.etcd_endpoints.empty()) return absl::InvalidArgumentError("--ha-etcd is empty");
  if (options.cluster.empty() || options.cluster.find('/') != std::string::npos) {
    return absl::InvalidArgumentError("--ha-cluster must be a non-empty name without '/'");
  }
  if (options.sync_standbys < 0) return absl::InvalidArgumentError("--sync-standbys must be >= 0");
  if (options.lease_ttl < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--ha-lease-ttl must be at least 1s (etcd's granularity)");
  }
  ha::EtcdOptions etcd_options;
  etcd_options.endpoints = options.etcd_endpoints;
  etcd_options.timeout = std::min(absl::Seconds(2), options.lease_ttl / 2);
  auto etcd = ha::EtcdClient::Connect(etcd_options);
  if (!etcd.ok()) return etcd.status();
  return std::unique_ptr<HaController>(
      new HaController(std::move(options), clock, *std::move(etcd)));
}

HaController::HaController(HaOptions options, Clock* clock, std::unique_ptr<ha::EtcdClient> etcd)
    : options_(std::move(options)),
      clock_(clock),
      etcd_(std::move(etcd)),
      layout_(options_.cluster),
      freshness_(clock) {}

HaController::~HaController() { Stop(); }

const char* HaController::RoleName(Role role) {
  switch (role) {
    case Role::kLeader:
      return "leader";
    case Role::kStandby:
      return "standby";
    case Role::kJoining:
    default:
      return "joining";
  }
}

void HaController::Start(CentralNode* node, const std::string& bound_address) {
  node_ = node;
  store_view_.store(node->store());
  if (options_.advertise.empty()) options_.advertise = bound_address;
  inner_applier_ = std::make_unique<FullEdgeApplier>(node->store(), node->publisher(), nullptr,
                                                     node->options().on_cluster_data);
  inner_applier_->SetWatchHub(node->watch_hub());
  standby_ = std::make_unique<StandbyApplier>(node->store(), inner_applier_.get());
  thread_ = std::thread([this] { Run(); });
}

bool HaController::Stopping() const {
  absl::MutexLock l(&mu_);
  return stop_;
}

void HaController::SleepUnlessStopped(absl::Duration d) {
  absl::MutexLock l(&mu_);
  auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
  mu_.AwaitWithTimeout(absl::Condition(&stopped), d);
}

void HaController::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

HaController::Role HaController::role() const { return role_.load(); }

bool HaController::LeaderTrusted() const {
  if (role_.load() != Role::kLeader) return false;
  absl::MutexLock l(&mu_);
  return lease_ != nullptr && lease_->Trusted() && !must_step_down_.load();
}

void HaController::AbandonLeadership(const absl::Status& why) {
  KV_LOG(ERROR) << "a batch the standbys hold could not be written here (" << why
                << "); stepping down so that a standby commits it";
  must_step_down_.store(true);
}

uint64_t HaController::epoch() const {
  absl::MutexLock l(&mu_);
  return epoch_;
}

std::string HaController::leader_address() const {
  absl::MutexLock l(&mu_);
  return leader_address_;
}

std::vector<std::string> HaController::in_sync() const {
  std::shared_ptr<SyncStandbys> sync;
  {
    absl::MutexLock l(&mu_);
    sync = sync_;
  }
  return sync ? sync->members() : std::vector<std::string>();
}

std::shared_ptr<UpstreamClient> HaController::leader() const {
  absl::MutexLock l(&mu_);
  return leader_client_;
}

int64_t HaController::StalenessMicros() const {
  // Lock-free: called by the publisher under its own lock.
  // Half a snapshot holds nothing a reader may count on (a former leader may be installing one).
  if (const VersionedStore* store = store_view_.load(); store && store->snapshot_incomplete()) {
    return replication::FreshnessTracker::kNeverFresh;
  }
  if (role_.load() == Role::kLeader) {
    // Complete while the lease may be trusted; past that, as fresh as the end of that trust
    // (a successor may have written since): a leader frozen past its lease wakes up like this.
    // No lease: the node is stepping down right now, and led_until_micros_ is already set.
    // A leader that must step down (a batch its standbys hold is not here) is not fresh either,
    // as LeaderTrusted says.
    if (const std::shared_ptr<ha::LeaderLease> lease = leading_lease_.load();
        lease != nullptr && !must_step_down_.load()) {
      return std::max<int64_t>(0, clock_->MonotonicMicros() - lease->TrustedUntilMicros());
    }
  }
  const int64_t led_until = led_until_micros_.load();
  int64_t staleness = freshness_.StalenessMicros();
  if (led_until != 0) staleness = std::min(staleness, clock_->MonotonicMicros() - led_until);
  return staleness;
}

absl::Status HaController::Replicate(const CommittedChanges& changes) {
  std::shared_ptr<SyncStandbys> sync;
  std::shared_ptr<ha::LeaderLease> lease;
  {
    // Proposing under mu_: a step-down (which takes mu_) never interleaves with it.
    absl::MutexLock l(&mu_);
    if (role_ != Role::kLeader || lease_ == nullptr || !lease_->Trusted() ||
        must_step_down_.load()) {
      return absl::UnavailableError(
          "this central node is not the leader (any more); nothing was written");
    }
    sync = sync_;
    lease = lease_;
  }
  if (absl::Status ready = sync->Ready(); !ready.ok()) return ready;
  // A write the store would refuse is refused before the standbys see it: once they hold a
  // batch, its versions are spent.
  if (absl::Status accepted = node_->store()->WritesAccepted(); !accepted.ok()) return accepted;
  // Only the commit thread proposes, and a step-down drains it (WaitIdle) before it forgets
  // what was proposed.
  node_->publisher()->Propose(changes);
  // Lock-free: WaitFor holds the sync set's lock while it asks. A step-down (and Stop) ends the
  // lease's trust first.
  return sync->WaitFor(changes.back()->version(), [lease] { return !lease->Trusted(); });
}

absl::Status HaController::MayAcknowledge() const {
  if (LeaderTrusted()) return absl::OkStatus();
  return absl::AbortedError(
      "the write's outcome is unknown: this node's leadership lapsed before it could "
      "acknowledge it (the new leader holds it if it was committed)");
}

absl::StatusOr<EpochStarts> HaController::ReadEpochs() {
  auto kvs = etcd_->GetPrefix(layout_.epochs());
  if (!kvs.ok()) return kvs.status();
  EpochStarts starts;
  for (const auto& kv : *kvs) {
    auto epoch = layout_.EpochOfKey(kv.key);
    uint64_t start = 0;
    if (!epoch || !absl::SimpleAtoi(kv.value, &start)) {
      return absl::DataLossError(absl::StrCat("etcd holds a malformed epoch record ", kv.key));
    }
    starts[*epoch] = start;
  }
  return starts;
}

absl::Status HaController::PersistInSync(int64_t leader_create_revision,
                                         const std::vector<std::string>& ids) {
  // Only while this node's leader key is the one it created.
  auto ok = etcd_->Txn({ha::EtcdCompare{layout_.leader(), ha::EtcdCompare::Target::kCreateRevision,
                                        leader_create_revision}},
                       {ha::EtcdPut{layout_.insync(), EtcdLayout::EncodeMembers(ids), 0}});
  if (!ok.ok()) return ok.status();
  if (!*ok) return absl::FailedPreconditionError("this node no longer holds the leader key");
  return absl::OkStatus();
}

void HaController::Run() {
  KV_LOG(INFO) << "central node " << options_.node_id << " joining cluster " << options_.cluster
               << " through etcd " << options_.etcd_endpoints.front()
               << (options_.etcd_endpoints.size() > 1 ? ", ..." : "");
  int64_t last_error_log = 0;
  while (!Stopping()) {
    auto key = etcd_->Get(layout_.leader());
    if (!key.ok()) {
      // etcd unreachable: keep following whoever was followed; campaign only when it answers.
      if (clock_->MonotonicMicros() - last_error_log > 5'000'000) {
        KV_LOG(WARN) << "cannot read the leader from etcd: " << key.status();
        last_error_log = clock_->MonotonicMicros();
      }
      SleepUnlessStopped(options_.poll_interval);
      continue;
    }
    std::optional<LeaderRecord> leader;
    if (*key) {
      leader = EtcdLayout::DecodeLeader((*key)->value);
      if (!leader) {
        KV_LOG(ERROR) << "etcd's leader key " << layout_.leader() << " holds no leader record";
        SleepUnlessStopped(options_.poll_interval);
        continue;
      }
      leader->lease = (*key)->lease;
      leader->create_revision = (*key)->create_revision;
    }
    if (!leader) {
      LeaderRecord me;
      if (Campaign(&me)) {
        Lead(me);
        continue;
      }
    } else if (leader->node_id == options_.node_id) {
      // This node's key from before it restarted: that process is gone, so is its leadership.
      KV_LOG(INFO) << "etcd still names this node leader (epoch " << leader->epoch
                   << ", from before a restart); revoking that lease";
      StopFollowing();
      if (auto s = etcd_->RevokeLease(leader->lease); !s.ok() && !absl::IsNotFound(s)) {
        KV_LOG(WARN) << "revoking the old leader lease: " << s;
      }
      continue;
    } else {
      Follow(*leader);
    }
    SleepUnlessStopped(options_.poll_interval);
  }
  StopFollowing();
}

void HaController::Follow(const LeaderRecord& leader) {
  if (subscriber_ != nullptr && following_.node_id == leader.node_id &&
      following_.epoch == leader.epoch && following_.address == leader.address) {
    return;
  }
  StopFollowing();
  auto starts = ReadEpochs();
  if (!starts.ok()) {
    KV_LOG(WARN) << "cannot read the epochs from etcd: " << starts.status();
    return;
  }
  auto held = standby_->Validate(leader.epoch, *starts);
  if (!held.ok()) {
    KV_LOG(ERROR) << "standby: cannot prepare to follow " << leader.node_id << ": "
                  << held.status();
    return;
  }
  UpstreamOptions upstream = options_.upstream;
  upstream.address = leader.address;
  auto client = std::make_shared<UpstreamClient>(upstream);
  replication::SubscriberOptions sub;
  sub.node_id = options_.node_id;
  sub.advertised_address = options_.advertise;
  sub.standby = true;
  // A node that holds nothing yet takes the cluster's data whatever id it made for itself.
  sub.allow_cluster_change = *held == 0;
  sub.authorization = [client] { return client->OwnAuthorization(); };
  subscriber_ = std::make_unique<replication::Subscriber>(
      client->replication(), leader.address, standby_.get(),
      static_cast<replication::SnapshotTarget*>(standby_.get()), &freshness_, clock_, sub);
  following_ = leader;
  previous_leader_ = leader.node_id;
  {
    absl::MutexLock l(&mu_);
    role_ = Role::kStandby;
    epoch_ = leader.epoch;
    leader_address_ = leader.address;
    leader_client_ = client;
  }
  node_->SetWritable(absl::UnavailableError(absl::StrCat(
      "this central node is a standby; the leader is ", leader.node_id, " at ", leader.address)));
  subscriber_->Start();
  KV_LOG(INFO) << "standby of " << leader.node_id << " at " << leader.address << " (epoch "
               << leader.epoch << ") from version " << *held + 1;
}

void HaController::StopFollowing() {
  if (subscriber_ != nullptr) {
    subscriber_->Stop();
    subscriber_.reset();
  }
  following_ = LeaderRecord();
  absl::MutexLock l(&mu_);
  if (role_ == Role::kStandby) role_ = Role::kJoining;
  leader_client_.reset();
  leader_address_.clear();
}

bool HaController::Campaign(LeaderRecord* won) {
  StopFollowing();
  // Half a snapshot is not a history to lead with.
  if (inner_applier_->NeedsBootstrap()) {
    KV_LOG(INFO) << "not a candidate: this node's data is being rebuilt from a snapshot";
    return false;
  }
  auto starts = ReadEpochs();
  if (!starts.ok()) return false;
  const uint64_t newest = starts->empty() ? 0 : starts->rbegin()->first;
  // What this node holds that the cluster's history can still contain.
  auto held = standby_->Validate(newest, *starts);
  if (!held.ok()) {
    KV_LOG(ERROR) << "cannot campaign: " << held.status();
    return false;
  }
  ha::LeaderLeaseOptions lease_options;
  lease_options.ttl = options_.lease_ttl;
  lease_options.on_lost = [](const std::string& why) {
    KV_LOG(WARN) << "leader lease lost: " << why;
  };
  auto lease = std::make_shared<ha::LeaderLease>(etcd_.get(), clock_, lease_options);
  if (auto s = lease->Start(); !s.ok()) return false;
  auto give_up = [&] {
    lease->Stop(/*revoke=*/true);
    return false;
  };
  // Create-only: a key already there is another live process with this node id (an operator's
  // mistake), or this node's own from before a restart; either way it expires with its lease,
  // and this node does not campaign until then.
  const std::string candidate_key = layout_.candidate(options_.node_id);
  auto posted =
      etcd_->Txn({ha::EtcdCompare{candidate_key, ha::EtcdCompare::Target::kCreateRevision, 0}},
                 {ha::EtcdPut{candidate_key, absl::StrCat(*held), lease->lease_id()}});
  if (!posted.ok()) return give_up();
  if (!*posted) {
    KV_LOG(WARN) << "not a candidate: etcd already holds a candidacy of node id "
                 << options_.node_id << " (another process with this id, or this one's from "
                 << "before a restart: it expires with its lease)";
    return give_up();
  }
  SleepUnlessStopped(options_.settle);
  if (Stopping()) return give_up();
  auto leader = etcd_->Get(layout_.leader());
  auto insync = etcd_->Get(layout_.insync());
  auto candidates = etcd_->GetPrefix(layout_.candidates());
  if (!leader.ok() || !insync.ok() || !candidates.ok() || *leader) return give_up();
  // Once a leader has recorded an in-sync set (itself and the standbys it waits for), only
  // its members hold every acknowledged write; before that (a new cluster), anyone may lead.
  const bool recorded = insync->has_value();
  std::vector<std::string> members;
  int64_t insync_mod = 0;
  if (recorded) {
    members = EtcdLayout::DecodeMembers((*insync)->value);
    insync_mod = (*insync)->mod_revision;
  }
  auto eligible = [&](const std::string& id) {
    return !recorded || std::find(members.begin(), members.end(), id) != members.end();
  };
  if (!eligible(options_.node_id)) {
    KV_LOG(INFO) << "not a candidate: this node is not in sync (in sync: "
                 << EtcdLayout::EncodeMembers(members) << ")";
    return give_up();
  }
  // The eligible candidate holding the most wins; ties go to the smallest id.
  std::string best;
  uint64_t best_version = 0;
  for (const auto& kv : *candidates) {
    std::string id = kv.key.substr(layout_.candidates().size());
    uint64_t version = 0;
    if (!eligible(id) || !absl::SimpleAtoi(kv.value, &version)) continue;
    if (best.empty() || version > best_version || (version == best_version && id < best)) {
      best = id;
      best_version = version;
    }
  }
  if (best != options_.node_id) {
    KV_LOG(INFO) << "candidate " << best << " holds version " << best_version << " (this node "
                 << *held << "); letting it lead";
    return give_up();
  }
  LeaderRecord me;
  me.node_id = options_.node_id;
  me.address = options_.advertise;
  me.epoch = newest + 1;
  auto elected = etcd_->Txn(
      {ha::EtcdCompare{layout_.leader(), ha::EtcdCompare::Target::kCreateRevision, 0},
       ha::EtcdCompare{layout_.insync(), ha::EtcdCompare::Target::kModRevision, insync_mod},
       ha::EtcdCompare{layout_.epoch(me.epoch), ha::EtcdCompare::Target::kCreateRevision, 0}},
      {ha::EtcdPut{layout_.leader(), EtcdLayout::EncodeLeader(me), lease->lease_id()},
       ha::EtcdPut{layout_.epoch(me.epoch), absl::StrCat(*held + 1), 0}});
  if (!elected.ok() || !*elected) return give_up();
  auto key = etcd_->Get(layout_.leader());
  if (!key.ok() || !*key) return give_up();
  me.create_revision = (*key)->create_revision;
  me.lease = lease->lease_id();
  (void)etcd_->Delete(layout_.candidate(options_.node_id));
  {
    absl::MutexLock l(&mu_);
    lease_ = lease;
  }
  *won = me;
  return true;
}

void HaController::Lead(const LeaderRecord& me) {
  std::shared_ptr<ha::LeaderLease> lease;
  {
    absl::MutexLock l(&mu_);
    lease = lease_;
  }
  const uint64_t from = node_->store()->head_version() + 1;
  absl::Status ready = standby_->CommitAllPending();
  std::vector<std::string> members;  // etcd's, less this node
  std::vector<std::string> waited;   // and less the previous leader
  if (ready.ok()) {
    auto insync = etcd_->Get(layout_.insync());
    if (!insync.ok()) {
      ready = insync.status();
    } else if (*insync) {
      for (std::string& id : EtcdLayout::DecodeMembers((*insync)->value)) {
        if (id == options_.node_id) continue;
        if (id != previous_leader_) waited.push_back(id);
        members.push_back(std::move(id));
      }
    }
  }
  if (!ready.ok()) {
    KV_LOG(ERROR) << "elected, but cannot lead: " << ready << "; stepping down";
    lease->Stop(/*revoke=*/true);
    {
      absl::MutexLock l(&mu_);
      lease_.reset();
    }
    // Let another candidate win rather than this node again at once.
    SleepUnlessStopped(options_.lease_ttl);
    return;
  }
  SyncStandbysOptions sync_options;
  sync_options.required = options_.sync_standbys;
  sync_options.lag_timeout = options_.standby_timeout;
  const int64_t revision = me.create_revision;
  sync_options.persist = [this, revision](const std::vector<std::string>& standbys) {
    // The leader is a member too: it holds every acknowledged write (it writes after its
    // standbys hold them), so it may lead again after a restart.
    std::vector<std::string> ids = standbys;
    ids.push_back(options_.node_id);
    return PersistInSync(revision, ids);
  };
  auto sync = std::make_shared<SyncStandbys>(clock_, sync_options, members, waited,
                                             node_->store()->head_version());
  node_->publisher()->SetEpoch(me.epoch);
  node_->publisher()->SetStandbyObserver(
      [sync](const replication::StandbyAck& ack) { sync->OnAck(ack); });
  leading_lease_.store(lease);
  {
    absl::MutexLock l(&mu_);
    role_ = Role::kLeader;
    epoch_ = me.epoch;
    leader_address_ = options_.advertise;
    leader_client_.reset();
    sync_ = sync;
  }
  node_->SetWritable(absl::OkStatus());
  node_->SeedKeySetInBackground();
  KV_LOG(INFO) << "leading cluster " << options_.cluster << " in epoch " << me.epoch
               << " from version " << node_->store()->head_version() << " (held pending from "
               << from << "); waiting for " << options_.sync_standbys
               << " standby(s) in sync (in sync before: " << EtcdLayout::EncodeMembers(members)
               << ")";
  while (!Stopping() && lease->Trusted() && !must_step_down_.load()) {
    // Wake at the poll interval, or when trust would run out if sooner.
    const int64_t left = lease->TrustedUntilMicros() - clock_->MonotonicMicros();
    SleepUnlessStopped(
        std::min(options_.poll_interval, absl::Microseconds(std::max<int64_t>(left, 1000))));
  }

  // Step down: the role first (reads stop being answered as the leader's, nothing new is
  // proposed), then trust ends (a batch waiting for its standbys gives up; the revoke lets a
  // standby take over at once), then the pipeline is closed and drained, and the publisher
  // forgets what was proposed and not committed.
  const bool abandoned = must_step_down_.load();
  KV_LOG(WARN) << "stepping down as leader of epoch " << me.epoch
               << (Stopping()  ? " (shutting down)"
                   : abandoned ? " (a batch could not be written here)"
                               : " (the lease can no longer be trusted)");
  {
    absl::MutexLock l(&mu_);
    // This node's data is as fresh as the end of its trust, which may be long past when it
    // notices (a process frozen past its lease), not as fresh as now.
    led_until_micros_ = std::min(clock_->MonotonicMicros(), lease->TrustedUntilMicros());
    role_ = Role::kJoining;
  }
  leading_lease_.store(nullptr);
  lease->Stop(/*revoke=*/true);
  {
    absl::MutexLock l(&mu_);
    lease_.reset();
    sync_.reset();
    leader_address_.clear();
  }
  node_->SetWritable(absl::UnavailableError("this central node stepped down as leader"));
  node_->pipeline()->WaitIdle();
  node_->publisher()->SetStandbyObserver(nullptr);
  node_->publisher()->DropProposed(node_->store()->head_version());
  must_step_down_.store(false);
  // Let another candidate win the next election rather than this node again at once.
  if (abandoned) SleepUnlessStopped(options_.lease_ttl);
}

}  // namespace kv::server
