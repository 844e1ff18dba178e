#pragma once
// kvctl's exit statuses, one place, so scripts can rely on them (documented in docs/client.md),
// and the one-line error report that goes with them. Stateless functions.

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kv::kvctl {

inline constexpr int kExitOk = 0;
// get: the key does not exist.
inline constexpr int kExitNotFound = 1;
// Bad flags or arguments, unreadable input file; nothing was sent.
inline constexpr int kExitUsage = 2;
// Any other server or client error (INTERNAL, UNKNOWN, UNIMPLEMENTED, ...).
inline constexpr int kExitServerError = 3;
// FAILED_PRECONDITION: a conditional write (--if-version) lost, or a commit's check failed (or
// its add found a value that is not an 8-byte counter); nothing was applied.
inline constexpr int kExitPrecondition = 4;
// UNAVAILABLE or DEADLINE_EXCEEDED: no node answered in time.
inline constexpr int kExitUnavailable = 5;
// INVALID_ARGUMENT, RESOURCE_EXHAUSTED, OUT_OF_RANGE: the server rejected the request's content.
inline constexpr int kExitRejected = 6;
// bulk-put: some lines were not written (malformed or failed); the summary says which.
inline constexpr int kExitPartial = 7;
// put, delete, bulk-put: the outcome of a write is unknown: it may have been applied (the
// connection broke after the request was sent, the deadline passed, ...). Checked before every
// code above, so a put that timed out exits 8, not 5.
inline constexpr int kExitOutcomeUnknown = 8;
// UNAUTHENTICATED (no token, or a token the node refused) or PERMISSION_DENIED (a scope is
// missing): nothing was done; the message says what was missing.
inline constexpr int kExitDenied = 9;
// verify: the node's dataset checksum differs from the central node's at the same version.
inline constexpr int kExitChecksumMismatch = 10;

// The exit status for a failed call (never 0 for a non-OK status).
int ExitCodeFor(const absl::Status& status);

// "UNAVAILABLE", "FAILED_PRECONDITION", ...
std::string CodeName(const absl::Status& status);

// "outcome unknown: the write may have been applied"
inline constexpr const char* kOutcomeUnknownText =
    "outcome unknown: the write may have been applied";

// Writes "kvctl <command>: CODE_NAME: message" and returns ExitCodeFor(status). A write whose
// outcome is unknown reads "kvctl <command>: outcome unknown: the write may have been applied:
// CODE_NAME: message".
int ReportError(std::ostream& err, absl::string_view command, const absl::Status& status);

// Writes "kvctl <command>: message" plus a pointer to --help, and returns kExitUsage.
int ReportUsage(std::ostream& err, absl::string_view command, absl::string_view message);

}  // namespace kv::kvctl
