#include "tests/checker/history.h"

#include <string_view>
#include <utility>

namespace kv::checker {
namespace {

constexpr const char* kOpKindNames[] = {"put", "delete", "get"};
constexpr const char* kOutcomeNames[] = {"ok", "failed", "unknown"};
constexpr const char* kSourceNames[] = {"unspecified", "central", "edge_store", "edge_cache",
                                        "upstream"};

template <typename Enum, size_t N>
bool ParseName(std::string_view name, const char* const (&names)[N], Enum* out) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) {
      *out = static_cast<Enum>(i);
      return true;
    }
  }
  return false;
}

}  // namespace

const char* OpKindName(OpKind kind) { return kOpKindNames[static_cast<int>(kind)]; }
const char* OutcomeName(Outcome outcome) { return kOutcomeNames[static_cast<int>(outcome)]; }
const char* SourceName(Source source) { return kSourceNames[static_cast<int>(source)]; }
bool ParseOpKind(std::string_view name, OpKind* kind) {
  return ParseName(name, kOpKindNames, kind);
}
bool ParseOutcome(std::string_view name, Outcome* outcome) {
  return ParseName(name, kOutcomeNames, outcome);
}
bool ParseSource(std::string_view name, Source* source) {
  return ParseName(name, kSourceNames, source);
}

Outcome OutcomeForCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return Outcome::kOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnimplemented:
      return Outcome::kFailed;
    default:
      return Outcome::kUnknown;
  }
}

uint64_t History::Begin(Operation op) {
  if (op.invoke_micros == 0) op.invoke_micros = clock_->MonotonicMicros();
  op.outcome = Outcome::kUnknown;
  op.complete_micros = kInfiniteFuture;
  absl::MutexLock l(&mu_);
  ops_.push_back(std::move(op));
  ended_.push_back(false);
  return ops_.size() - 1;
}

void History::End(uint64_t id, Outcome outcome, absl::FunctionRef<void(Operation&)> fill) {
  int64_t now = clock_->MonotonicMicros();
  absl::MutexLock l(&mu_);
  Operation& op = ops_.at(id);
  op.complete_micros = now;
  op.outcome = outcome;
  fill(op);
  ended_[id] = true;
}

void History::End(uint64_t id, Outcome outcome) {
  End(id, outcome, [](Operation&) {});
}

void History::Record(Operation op) {
  absl::MutexLock l(&mu_);
  ops_.push_back(std::move(op));
  ended_.push_back(true);
}

std::vector<Operation> History::Snapshot() const {
  absl::MutexLock l(&mu_);
  std::vector<Operation> out = ops_;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!ended_[i]) {
      out[i].outcome = Outcome::kUnknown;
      out[i].complete_micros = kInfiniteFuture;
    }
  }
  return out;
}

size_t History::size() const {
  absl::MutexLock l(&mu_);
  return ops_.size();
}

}  // namespace kv::checker
