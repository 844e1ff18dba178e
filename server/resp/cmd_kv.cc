// This store's own commands, for what Redis has no words for: stale answers, read options per
// connection, and the versions and freshness behind replies.
//   KV.ALLOWSTALE on|off
//   KV.READOPTS [MAXSTALENESS <duration>|default] [MINVERSION <n>] [CONSISTENCY bounded|strong]
//               [ALLOWSTALE on|off] [READYOURWRITES on|off] [RESET]
//   KV.LASTVERSION
//   KV.LASTREAD

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/units.h"
#include "server/http/gateway.h"
#include "server/resp/errors.h"
#include "server/resp/handlers.h"

namespace kv::server::resp {
namespace {

bool Is(absl::string_view arg, absl::string_view word) { return absl::EqualsIgnoreCase(arg, word); }

// on/off, yes/no, true/false, 1/0.
bool ParseSwitch(absl::string_view text, bool* value) {
  if (Is(text, "on") || Is(text, "yes") || Is(text, "true") || text == "1") {
    *value = true;
    return true;
  }
  if (Is(text, "off") || Is(text, "no") || Is(text, "false") || text == "0") {
    *value = false;
    return true;
  }
  return false;
}

std::string BadValue(absl::string_view option, absl::string_view value, absl::string_view want) {
  return absl::StrCat("ERR KV.READOPTS ", option, ": ", want, " (got '", Printable(value, 64),
                      "')");
}

void ReplyReadOpts(const Connection& c, ReplyWriter& w) {
  w.MapHeader(5);
  w.Bulk("consistency");
  w.Bulk(c.consistency == kvstore::v1::CONSISTENCY_STRONG ? "strong" : "bounded");
  w.Bulk("maxstaleness");
  w.Bulk(c.max_staleness_micros == 0 ? std::string("default")
                                     : FormatMicros(c.max_staleness_micros));
  w.Bulk("minversion");
  w.Integer(static_cast<int64_t>(c.min_version));
  w.Bulk("allowstale");
  w.Boolean(c.allow_stale);
  w.Bulk("readyourwrites");
  w.Boolean(c.read_your_writes);
}

}  // namespace

void CmdKvAllowStale(Invocation& call) {
  bool on = false;
  if (!ParseSwitch(call.args[1], &on)) {
    return call.reply.w().Error(absl::StrCat("ERR KV.ALLOWSTALE takes on or off (got '",
                                             Printable(call.args[1], 64), "')"));
  }
  call.connection.allow_stale = on;
  call.reply.w().Ok();
}

void CmdKvReadOpts(Invocation& call) {
  ReplyWriter w = call.reply.w();
  if (call.args.size() == 1) return ReplyReadOpts(call.connection, w);
  Connection next = call.connection;  // applied only when every option is valid
  for (size_t i = 1; i < call.args.size(); ++i) {
    const absl::string_view option = call.args[i];
    if (Is(option, "RESET")) {
      next.consistency = kvstore::v1::CONSISTENCY_BOUNDED;
      next.max_staleness_micros = 0;
      next.min_version = 0;
      next.allow_stale = false;
      next.read_your_writes = true;
      continue;
    }
    if (i + 1 >= call.args.size()) {
      return w.Error(absl::StrCat("ERR KV.READOPTS ", Printable(option, 32), " needs a value"));
    }
    const absl::string_view value = call.args[++i];
    if (Is(option, "MAXSTALENESS")) {
      if (Is(value, "default")) {
        next.max_staleness_micros = 0;
        continue;
      }
      absl::StatusOr<absl::Duration> d = ParseDurationFlag(value);
      if (!d.ok() || *d < absl::ZeroDuration()) {
        return w.Error(BadValue("MAXSTALENESS", value,
                                "a duration like 500ms, 2s, or 'default' (the node's bound)"));
      }
      next.max_staleness_micros = absl::ToInt64Microseconds(*d);
    } else if (Is(option, "MINVERSION")) {
      uint64_t version = 0;
      if (!ParseUint64(value, &version)) {
        return w.Error(BadValue("MINVERSION", value, "an unsigned integer"));
      }
      next.min_version = version;
    } else if (Is(option, "CONSISTENCY")) {
      if (Is(value, "strong")) {
        next.consistency = kvstore::v1::CONSISTENCY_STRONG;
      } else if (Is(value, "bounded")) {
        next.consistency = kvstore::v1::CONSISTENCY_BOUNDED;
      } else {
        return w.Error(BadValue("CONSISTENCY", value, "bounded or strong"));
      }
    } else if (Is(option, "ALLOWSTALE")) {
      if (!ParseSwitch(value, &next.allow_stale)) {
        return w.Error(BadValue("ALLOWSTALE", value, "on or off"));
      }
    } else if (Is(option, "READYOURWRITES")) {
      if (!ParseSwitch(value, &next.read_your_writes)) {
        return w.Error(BadValue("READYOURWRITES", value, "on or off"));
      }
    } else {
      return w.Error(absl::StrCat(
          "ERR KV.READOPTS: unknown option '", Printable(option, 32),
          "' (known: MAXSTALENESS, MINVERSION, CONSISTENCY, ALLOWSTALE, READYOURWRITES, RESET)"));
    }
  }
  Connection& c = call.connection;
  c.consistency = next.consistency;
  c.max_staleness_micros = next.max_staleness_micros;
  c.min_version = next.min_version;
  c.allow_stale = next.allow_stale;
  c.read_your_writes = next.read_your_writes;
  w.Ok();
}

void CmdKvLastVersion(Invocation& call) {
  call.reply.w().Integer(static_cast<int64_t>(call.connection.last_write_version));
}

void CmdKvLastRead(Invocation& call) {
  ReplyWriter w = call.reply.w();
  const Connection& c = call.connection;
  if (!c.has_last_read) return w.Null();
  const ReadFacts& info = c.last_read;
  w.MapHeader(6);
  w.Bulk("staleness");
  w.Bulk(FormatStalenessSeconds(info.staleness_micros));
  w.Bulk("staleness_us");
  w.Integer(info.staleness_micros);
  w.Bulk("source");
  w.Bulk(SourceName(info.source));
  w.Bulk("as_of_version");
  w.Integer(static_cast<int64_t>(info.as_of_version));
  w.Bulk("node");
  w.Bulk(info.node_id);
  w.Bulk("stale");
  w.Boolean(info.stale);
}

}  // namespace kv::server::resp
