#pragma once
// The Watch behind Client::StartWatch: one thread per watch reads the KV.Watch stream of a read
// endpoint, delivers each message as a WatchUpdate, and on a disconnect (or the node ending a
// watcher that fell behind) reconnects and resumes after the last applied_version it delivered.
// A resume the node cannot serve (OUT_OF_RANGE) is answered by re-reading the keys and resuming
// after that read (WatchOptions::resync_when_too_old).
//
// Threading: the callback runs on the watch's thread; Cancel and Wait may be called from any
// other thread. Ownership: the Client must outlive the watch.

#include <memory>

#include "absl/functional/any_invocable.h"
#include "kv/client.h"

namespace kv::client {

class ClientImpl;

std::unique_ptr<Watch> StartClientWatch(ClientImpl* client, const WatchOptions& options,
                                        absl::AnyInvocable<void(const WatchUpdate&)> on_update);

}  // namespace kv::client
