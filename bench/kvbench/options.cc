#include "bench/kvbench/options.h"

namespace kv::kvbench {

const char* WorkloadName(Workload workload) {
  switch (workload) {
    case Workload::kRead:
      return "read";
    case Workload::kWrite:
      return "write";
    case Workload::kMixed:
      return "mixed";
    case Workload::kBatch:
      return "batch";
  }
  return "?";
}

const char* EngineName(EngineKind engine) {
  return engine == EngineKind::kCompletionQueue ? "cq" : "callback";
}

}  // namespace kv::kvbench
