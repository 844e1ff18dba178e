// Quickstart for the kvstore client library:
//   kv_example_quickstart [WRITE_ENDPOINT [READ_ENDPOINT...]]
// e.g. kv_example_quickstart 127.0.0.1:7000 127.0.0.1:7101 127.0.0.1:7102
// Writes a key at the central node, reads it back through the nearest edge (read-your-writes via
// the session), does a conditional write, lists a prefix, and shows the central node's status.

#include <iostream>
#include <string>

#include "kv/client.h"

namespace {

int Fail(const char* what, const absl::Status& status) {
  // A write whose answer was lost may still have been applied: say so instead of "failed".
  std::cerr << what
            << (kv::client::IsOutcomeUnknown(status)
                    ? ": outcome unknown (it may have been applied): "
                    : " failed: ")
            << status << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  kv::client::ClientOptions options;
  if (argc > 1) options.write_endpoint = argv[1];
  for (int i = 2; i < argc; ++i) options.read_endpoints.push_back(argv[i]);  // nearest first
  options.timeout = absl::Seconds(3);

  absl::StatusOr<std::unique_ptr<kv::client::Client>> created = kv::client::Client::Create(options);
  if (!created.ok()) return Fail("Create", created.status());
  kv::client::Client& client = **created;

  // 1. Write. The answer carries the commit version; the session remembers it.
  kv::client::PutOptions put;
  put.metadata = "content-type=text/plain";
  put.ttl = absl::Minutes(10);
  absl::StatusOr<kv::client::PutResult> written = client.Put("quickstart/greeting", "hello", put);
  if (!written.ok()) return Fail("Put", written.status());
  std::cout << "put quickstart/greeting at version " << written->version << "\n";

  // 2. Read your write through the edge list: the read carries min_version = the session
  //    version, so an edge that has not applied the write yet waits briefly or forwards.
  absl::StatusOr<kv::client::GetResult> got = client.Get("quickstart/greeting");
  if (!got.ok()) return Fail("Get", got.status());
  std::cout << "get -> '" << got->entry.value << "' version " << got->entry.version << " from "
            << got->info.endpoint << " (" << kv::client::SourceName(got->info.source)
            << ", staleness " << got->info.staleness << ")\n";

  // 3. Conditional write: succeeds only if nobody changed the key since we read it.
  kv::client::PutOptions cas;
  cas.if_version = got->entry.version;
  absl::StatusOr<kv::client::PutResult> swapped = client.Put("quickstart/greeting", "hi", cas);
  if (!swapped.ok()) return Fail("conditional Put", swapped.status());
  std::cout << "conditional put at version " << swapped->version << "\n";

  // The same condition again is now stale: FAILED_PRECONDITION, nothing written.
  absl::StatusOr<kv::client::PutResult> lost = client.Put("quickstart/greeting", "hey", cas);
  std::cout << "stale conditional put: " << lost.status() << "\n";

  // 4. List the prefix, page by page.
  kv::client::ListOptions list;
  list.prefix = "quickstart/";
  list.limit = 100;
  do {
    absl::StatusOr<kv::client::ListResult> page = client.List(list);
    if (!page.ok()) return Fail("List", page.status());
    for (const kv::client::Entry& e : page->entries) {
      std::cout << "  " << e.key << " version " << e.version << "\n";
    }
    list.cursor = page->next_cursor;
  } while (!list.cursor.empty());

  // 5. The node's own view: role, versions, readiness.
  absl::StatusOr<kv::client::NodeStatus> status = client.Status();
  if (!status.ok()) return Fail("Status", status.status());
  std::cout << status->node_id << " (" << status->role << ") head version " << status->head_version
            << (status->ready ? ", ready" : ", not ready") << "\n";

  std::cout << "session version " << client.session_version() << "\n";
  return 0;
}
