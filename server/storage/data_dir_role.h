#pragma once
// The role a data directory belongs to, stamped in a small file KV_ROLE beside the RocksDB
// files when the directory is first used, so that a node never opens another role's data: an
// edge started on a stopped central node's directory would otherwise RESET it and load another
// cluster, and a central node started on an edge's directory would become a second authority
// for that edge's cluster (docs/faults.md, "Mistakes refused").
//
// Why a file and not a RocksDB meta key: it is read before RocksDB opens the directory, so a
// refused start leaves the directory exactly as it was (opening RocksDB, even to read, writes a
// new MANIFEST, OPTIONS and info LOG); it serves both layouts (a full node's VersionedStore and a
// cache edge's CacheStore have different column families, and would fail to open each other
// with a RocksDB error that names no role); and an operator can read it with `cat`. The history
// (the cluster id) stays in the store's meta, written in the same batch as the data it names.
//
// Threading: free functions, called once by a node's Open before its store is opened. The
// directory's RocksDB LOCK (taken after the claim) keeps two processes off one directory.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kv::server {

enum class DataDirRole { kCentral, kEdgeFull, kEdgeCache };

// "central", "edge-full", "edge-cache": the words in the stamp and in errors.
const char* DataDirRoleName(DataDirRole role);
absl::StatusOr<DataDirRole> ParseDataDirRole(absl::string_view text);

// The stamp's file name inside the data directory.
inline constexpr char kRoleFileName[] = "KV_ROLE";

// Claims `dir` for `role` before anything opens it:
//   - missing or empty: created and stamped;
//   - stamped with `role`: OK, nothing written;
//   - stamped with another role (or one this build does not know): FAILED_PRECONDITION naming
//     the directory and both roles; nothing is written;
//   - holding files but no stamp (made by a build before stamps): adopted as `role`, with a
//     log line.
// The stamp is written atomically (a temporary file, fsync, rename, fsync of the directory).
absl::Status ClaimDataDir(const std::string& dir, DataDirRole role);

// The role `dir` is stamped with; NOT_FOUND when it has no stamp.
absl::StatusOr<DataDirRole> ReadDataDirRole(const std::string& dir);

}  // namespace kv::server
