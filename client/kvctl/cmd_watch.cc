// kvctl watch (--prefix P | --key K...) [--from-version N] [--count N] [--for D] [--progress]
//             [--fetch-values] [-o json]
//
// Prints every put and delete as it arrives, one line each (JSON Lines with -o json), resuming by
// itself after disconnects. Runs until interrupted, or until --count events or --for elapsed.

#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/kvctl/commands.h"
#include "client/kvctl/exit_codes.h"
#include "client/kvctl/output.h"
#include "common/units.h"

namespace kv::kvctl {
namespace {

struct WatchFlags {
  std::string prefix;
  std::vector<std::string> keys;
  uint64_t from_version = 0;
  uint64_t count = 0;
  std::string duration;
  bool progress = false;
  bool fetch_values = false;
  std::string output = "text";
};

const char* TypeName(const client::WatchEvent& e) {
  return e.type == client::WatchEvent::Type::kDelete ? "delete" : "put";
}

void PrintEvent(const client::WatchEvent& e, bool resync, bool json, std::ostream& out) {
  if (json) {
    nlohmann::json obj = nlohmann::json::object();
    obj["type"] = TypeName(e);
    SetBytes(obj, "key", e.key);
    obj["version"] = e.version;
    if (e.type == client::WatchEvent::Type::kPut) {
      if (e.value_omitted) {
        obj["value_omitted"] = true;
      } else {
        SetBytes(obj, "value", e.value);
      }
      obj["value_size"] = e.value_size;
      if (!e.metadata.empty()) SetBytes(obj, "metadata", e.metadata);
      if (e.expiration != 0) obj["expiration"] = e.expiration;
    }
    if (resync) obj["resync"] = true;
    out << obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    out << e.version << "\t" << TypeName(e) << "\t" << Printable(e.key);
    if (e.type == client::WatchEvent::Type::kPut) {
      if (e.value_omitted) {
        out << "\t(value of " << e.value_size << " bytes omitted)";
      } else {
        out << "\tvalue=" << Printable(e.value);
      }
    }
    if (resync) out << "\t(resync)";
    out << "\n";
  }
}

void PrintProgress(const client::WatchUpdate& u, bool json, std::ostream& out) {
  if (json) {
    nlohmann::json obj = {{"progress", true},
                          {"applied_version", u.applied_version},
                          {"staleness_ms", absl::ToDoubleMilliseconds(u.staleness)},
                          {"node_id", u.node_id}};
    out << obj.dump() << "\n";
  } else {
    out << "# applied_version=" << u.applied_version
        << " staleness=" << absl::FormatDuration(u.staleness) << " node=" << u.node_id << "\n";
  }
}

int RunWatch(const WatchFlags& f, Context& ctx) {
  absl::Duration limit = absl::InfiniteDuration();
  if (!f.duration.empty()) {
    absl::StatusOr<absl::Duration> d = ParseDurationFlag(f.duration);
    if (!d.ok() || *d <= absl::ZeroDuration()) {
      return ReportUsage(*ctx.io.err, "watch", "--for needs a positive duration such as 30s");
    }
    limit = *d;
  }
  if (!f.keys.empty() && !f.prefix.empty()) {
    return ReportUsage(*ctx.io.err, "watch", "give --prefix or --key, not both");
  }
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "watch", &code);
  if (c == nullptr) return code;
  client::WatchOptions options;
  options.prefix = f.prefix;
  options.keys = f.keys;
  options.start_version = f.from_version;
  options.fetch_omitted_values = f.fetch_values;
  const bool json = f.output == "json";
  absl::Mutex mu;
  uint64_t seen = 0;
  std::ostream& out = *ctx.io.out;
  auto watch = c->StartWatch(options, [&](const client::WatchUpdate& u) {
    absl::MutexLock l(&mu);
    if (f.count != 0 && seen >= f.count) return;
    for (const auto& e : u.events) {
      PrintEvent(e, u.resync, json, out);
      if (++seen == f.count) break;
    }
    if (u.events.empty() && f.progress) PrintProgress(u, json, out);
    out.flush();
  });
  // Ends at --count events, after --for, or when the watch ends by itself (an error).
  bool ended = false;
  absl::Status status;
  std::thread waiter([&] {
    status = watch->Wait();
    absl::MutexLock l(&mu);
    ended = true;
  });
  {
    absl::MutexLock l(&mu);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return ended || (f.count != 0 && seen >= f.count);
    };
    mu.AwaitWithTimeout(absl::Condition(&done), limit);
  }
  watch->Cancel();
  waiter.join();
  if (!status.ok() && !absl::IsCancelled(status)) return ReportError(*ctx.io.err, "watch", status);
  return kExitOk;
}

}  // namespace

Command AddWatchCommand(CLI::App& root) {
  auto f = std::make_shared<WatchFlags>();
  CLI::App* app = root.add_subcommand(
      "watch",
      "Print every put and delete of a prefix or of keys as it happens (resumes by itself)");
  app->add_option("--prefix", f->prefix, "Watch keys starting with P (default: every key)")
      ->type_name("P");
  app->add_option("--key", f->keys, "Watch this key (repeat for up to 100 keys)")->type_name("K");
  app->add_option("--from-version", f->from_version,
                  "Start at this version (default: changes from now on)")
      ->type_name("N");
  app->add_option("--count", f->count, "Exit after N events")->type_name("N");
  app->add_option("--for", f->duration, "Exit after this long (e.g. 30s)")->type_name("D");
  app->add_flag("--progress", f->progress,
                "Also print progress (applied version, staleness) while nothing changes");
  app->add_flag("--fetch-values", f->fetch_values,
                "Read values too large for the stream (otherwise shown as omitted)");
  AddOutputFlag(app, &f->output);
  return {app, [f](Context& ctx) { return RunWatch(*f, ctx); }};
}

}  // namespace kv::kvctl
