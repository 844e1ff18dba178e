#include "tests/faultproxy/control_command.h"

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/units.h"

namespace kv::testing {
namespace {

constexpr absl::string_view kHelp =
    "ok commands: delay c2s|s2c|both DELAY [JITTER]; bandwidth c2s|s2c|both SIZE|off; "
    "pause [DIR]; resume [DIR]; cut; refuse on|off; clear; show; stats; ping; help; quit";

// Directions named by "c2s", "s2c" or "both".
absl::StatusOr<std::vector<Direction>> ParseDirections(absl::string_view word) {
  if (word == "c2s") return std::vector<Direction>{Direction::kClientToServer};
  if (word == "s2c") return std::vector<Direction>{Direction::kServerToClient};
  if (word == "both") return std::vector<Direction>(kBothDirections.begin(), kBothDirections.end());
  return absl::InvalidArgumentError(absl::StrCat("bad direction '", word, "' (c2s, s2c, both)"));
}

std::string Error(absl::string_view message) { return absl::StrCat("error ", message); }
std::string Error(const absl::Status& status) { return Error(status.message()); }

std::string Delay(FaultProxy& proxy, const std::vector<std::string>& args) {
  if (args.size() < 3 || args.size() > 4) return Error("usage: delay c2s|s2c|both DELAY [JITTER]");
  absl::StatusOr<std::vector<Direction>> dirs = ParseDirections(args[1]);
  if (!dirs.ok()) return Error(dirs.status());
  absl::StatusOr<absl::Duration> delay = ParseDurationFlag(args[2]);
  if (!delay.ok()) return Error(delay.status());
  absl::Duration jitter = absl::ZeroDuration();
  if (args.size() == 4) {
    absl::StatusOr<absl::Duration> j = ParseDurationFlag(args[3]);
    if (!j.ok()) return Error(j.status());
    jitter = *j;
  }
  for (Direction d : *dirs) proxy.SetDelay(d, *delay, jitter);
  return absl::StrCat("ok delay=", absl::FormatDuration(*delay),
                      " jitter=", absl::FormatDuration(jitter));
}

std::string Bandwidth(FaultProxy& proxy, const std::vector<std::string>& args) {
  if (args.size() != 3) return Error("usage: bandwidth c2s|s2c|both SIZE|off");
  absl::StatusOr<std::vector<Direction>> dirs = ParseDirections(args[1]);
  if (!dirs.ok()) return Error(dirs.status());
  uint64_t rate = 0;
  absl::string_view size = args[2];
  if (size != "off" && size != "unlimited") {
    absl::ConsumeSuffix(&size, "/s");
    absl::StatusOr<uint64_t> parsed = ParseByteSize(size);
    if (!parsed.ok()) return Error(parsed.status());
    rate = *parsed;
  }
  for (Direction d : *dirs) proxy.SetBandwidth(d, rate);
  return absl::StrCat("ok bandwidth=", rate);
}

// pause/resume with an optional direction.
std::string Hold(FaultProxy& proxy, const std::vector<std::string>& args, bool pause) {
  if (args.size() > 2) return Error(absl::StrCat("usage: ", args[0], " [c2s|s2c|both]"));
  absl::StatusOr<std::vector<Direction>> dirs =
      ParseDirections(args.size() == 2 ? args[1] : "both");
  if (!dirs.ok()) return Error(dirs.status());
  for (Direction d : *dirs) pause ? proxy.Pause(d) : proxy.Resume(d);
  return "ok";
}

}  // namespace

std::string ExecuteControlCommand(FaultProxy& proxy, absl::string_view line) {
  std::vector<std::string> args = absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
  if (args.empty()) return Error("empty command (try 'help')");
  for (std::string& a : args) absl::AsciiStrToLower(&a);
  const std::string& cmd = args[0];
  if (cmd == "delay") return Delay(proxy, args);
  if (cmd == "bandwidth" || cmd == "bw") return Bandwidth(proxy, args);
  if (cmd == "pause") return Hold(proxy, args, /*pause=*/true);
  if (cmd == "resume") return Hold(proxy, args, /*pause=*/false);
  if (args.size() > 2 || (args.size() == 2 && cmd != "refuse")) {
    return Error(absl::StrCat("'", cmd, "' takes no arguments"));
  }
  if (cmd == "cut") return absl::StrCat("ok cut=", proxy.CutAll());
  if (cmd == "refuse") {
    if (args.size() != 2 || (args[1] != "on" && args[1] != "off")) {
      return Error("usage: refuse on|off");
    }
    proxy.RefuseNew(args[1] == "on");
    return absl::StrCat("ok refuse=", args[1]);
  }
  if (cmd == "clear") {
    proxy.ClearFaults();
    return "ok";
  }
  if (cmd == "show") return absl::StrCat("ok ", proxy.faults().ToString());
  if (cmd == "stats") return absl::StrCat("ok ", proxy.stats().ToString());
  if (cmd == "ping") return "ok pong";
  if (cmd == "help") return std::string(kHelp);
  return Error(absl::StrCat("unknown command '", cmd, "' (try 'help')"));
}

}  // namespace kv::testing
