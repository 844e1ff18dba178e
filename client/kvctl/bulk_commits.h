#pragma once
// bulk-put by commits: the lines of a file go to the central node as KV.Commit calls of up to
// BulkPutOptions::commit_keys lines (and commit_bytes), several in flight, so a bulk load costs
// one call and one group-commit slot per thousand keys instead of per key.
//
// Every line still gets its own outcome: a commit applied writes all its lines; a commit whose
// outcome is unknown leaves all its lines unknown; a commit refused outright (nothing applied:
// a bad value, a missing scope, a server without Commit) is retried line by line as Puts, so
// each line gets its own answer. Lines with "if_version" are sent alone as conditional Puts.
// Lines of one key are written in file order: a key is never in two commits in flight at once.
//
// Threading: runs on the caller's thread (reading and batching) plus commits_in_flight workers
// that make the calls; `tally` is filled from the workers.

#include <cstdint>
#include <functional>

#include "client/kvctl/bulk_line.h"
#include "client/kvctl/bulk_put.h"
#include "client/kvctl/bulk_tally.h"
#include "kv/client.h"

namespace kv::kvctl {

// Writes every line of `reader`; calls after_line(number) on the caller's thread after each
// line is read. Returns when every line has an outcome in `tally`.
void PutByCommits(client::Client& client, JsonLinesReader& reader, const BulkPutOptions& options,
                  Tally& tally, const std::function<void(int64_t)>& after_line);

}  // namespace kv::kvctl
