// SCAN cursor [MATCH prefix*] [COUNT n] [TYPE string] over Node::List. The store lists keys by
// prefix, so MATCH takes only prefix patterns ("user:*", "*"); anything else is refused with an
// error saying so. Cursors are numbers from the server's ScanCursors table (see there).

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/resp/errors.h"
#include "server/resp/handlers.h"
#include "server/resp/node_call.h"
#include "server/resp/scan_pattern.h"

namespace kv::server::resp {
namespace {

struct ScanCall {
  kvstore::v1::ListRequest request;
  kvstore::v1::ListResponse response;
  CallContext context;
  Reply reply;
  ScanCursors* cursors = nullptr;
  bool has_token = false;
};

void FinishScan(ScanCall& call, const absl::Status& status) {
  ReplyWriter w = call.reply.w();
  if (!status.ok()) {
    w.Error(ErrorForStatus(status, CallKind::kRead, call.has_token));
    return call.reply.Send();
  }
  call.reply.set_read_info(call.response.info());
  std::string next = "0";
  if (!call.response.next_cursor().empty()) {
    next = absl::StrCat(call.cursors->Save(
        {call.request.prefix(), std::move(*call.response.mutable_next_cursor())}));
  }
  w.ArrayHeader(2);
  w.Bulk(next);
  w.ArrayHeader(static_cast<size_t>(call.response.entries_size()));
  for (auto& entry : *call.response.mutable_entries()) w.BulkOwned(std::move(*entry.mutable_key()));
  call.reply.Send();
}

}  // namespace

void CmdScan(Invocation& call) {
  ReplyWriter w = call.reply.w();
  uint64_t cursor = 0;
  if (!ParseUint64(call.args[1], &cursor)) return w.Error("ERR invalid cursor");
  std::optional<std::string> prefix;
  uint32_t limit = 10;  // Redis's default COUNT
  bool strings_only_match = true;
  for (size_t i = 2; i < call.args.size(); i += 2) {
    if (i + 1 >= call.args.size()) return w.Error(std::string(kSyntaxError));
    const absl::string_view option = call.args[i];
    const absl::string_view value = call.args[i + 1];
    if (absl::EqualsIgnoreCase(option, "MATCH")) {
      std::string p;
      if (!PrefixOfPattern(value, &p)) {
        return w.Error(
            absl::StrCat("ERR SCAN MATCH takes only prefix patterns such as 'user:*' or '*' (got '",
                         Printable(value, 64), "'): this store lists keys by prefix"));
      }
      prefix = std::move(p);
    } else if (absl::EqualsIgnoreCase(option, "COUNT")) {
      int64_t count = 0;
      if (!ParseInt64(value, &count)) return w.Error(std::string(kNotInteger));
      if (count < 1) return w.Error(std::string(kSyntaxError));
      limit = static_cast<uint32_t>(
          std::min<int64_t>(count, call.server.options.limits.max_list_limit));
    } else if (absl::EqualsIgnoreCase(option, "TYPE")) {
      strings_only_match = absl::EqualsIgnoreCase(value, "string");
    } else {
      return w.Error(std::string(kSyntaxError));
    }
  }
  auto scan = std::make_unique<ScanCall>();
  if (cursor != 0) {
    std::optional<ScanCursors::Position> position = call.server.cursors.Find(cursor);
    if (!position.has_value()) {
      return w.Error("ERR invalid cursor (unknown or forgotten SCAN cursor: start again from 0)");
    }
    if (prefix.has_value() && *prefix != position->prefix) {
      return w.Error(absl::StrCat("ERR this SCAN cursor belongs to a scan of MATCH '",
                                  Printable(position->prefix, 64), "*'"));
    }
    prefix = std::move(position->prefix);
    scan->request.set_cursor(std::move(position->list_cursor));
  }
  if (!strings_only_match) {
    // Every value of this store is a string: no key of another type exists.
    w.ArrayHeader(2);
    w.Bulk("0");
    w.ArrayHeader(0);
    return;
  }
  if (prefix.has_value()) scan->request.set_prefix(std::move(*prefix));
  scan->request.set_limit(limit);
  scan->request.set_include_values(false);
  FillReadOptions(call.connection, scan->request.mutable_options());
  scan->cursors = &call.server.cursors;
  scan->has_token = !call.connection.auth_token.empty();
  if (absl::Status s = PrepareContext(call, &scan->context); !s.ok()) {
    return w.Error(ErrorForStatus(s, CallKind::kRead, scan->has_token));
  }
  scan->reply = std::move(call.reply);
  ScanCall* s = scan.get();
  call.server.node->List(
      s->request, &s->response, s->context,
      [scan = std::move(scan)](absl::Status st) mutable { FinishScan(*scan, st); });
}

}  // namespace kv::server::resp
