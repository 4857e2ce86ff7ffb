// Getting the tasks back after berthd (re)starts, and noticing shims that die.
//
// At start: walk ROOT/NS/ID/task; list every task at once (status and pid
// from the record, as berthd last knew them, until the shim answers, so
// `list` never blocks) and reconnect them
// all in parallel, each within kConnectDeadline: connect to its shim.sock,
// `connect`, subscribe after the record's last seq. A shim that is gone (no
// answer, or shim.pid names a dead process or another one with the same pid)
// or that accepts but does not answer in time (SIGKILLed, pid from shim.pid
// after checking its start time) is cleaned up: `berth-shim delete`, the task
// becomes stopped with the exit from its exit file (137 only where there is
// none), /tasks/exit is published, and the task stays listed until deleted.
//
// Crashes in between (berthd died in the middle of something): the walk
// covers every NS/ID with anything on disk — a record dir, a state dir, a runc
// container (STATE/runc/NS/ID) — and
//   - a record not yet marked `created` (berthd died inside create) is rolled
//     back: ShimRuntime::rollBackCreate;
//   - a record marked `deleting` gets its delete finished: finishDelete;
//   - anything without a record (a shim, its state dir, a container, an empty
//     record dir) is removed: cleanOrphan (a shim is killed only if shim.pid's
//     pid and start time match, so a reused pid is left alone);
//   - a record is caught up from the event journal first (its last seq, the
//     init's exit and delete, per incarnation), so an event journaled just
//     before the crash is neither replayed nor published twice.
// The crash points the tests use are in crash_point.h (BERTH_CRASH_AT).
//
// At runtime: when a shim connection drops, the same check and cleanup (or a
// reconnect, if the shim is still there and answers).
#pragma once

#include "manager/shim_runtime.h"

#include <chrono>
#include <memory>

namespace berth {

class Recovery {
 public:
  static constexpr std::chrono::milliseconds kConnectDeadline{2000};

  explicit Recovery(ShimRuntime& runtime);

  // Lists the tasks found on disk and starts reconnecting them; returns at once.
  void start();
  // A Ready task's shim connection dropped.
  void shimDisconnected(std::shared_ptr<ShimTask> task);
  // Tasks still loading.
  size_t pending() const { return pending_; }

 private:
  asio::awaitable<void> recover(std::shared_ptr<ShimTask> task);
  asio::awaitable<void> recheck(std::shared_ptr<ShimTask> task);
  asio::awaitable<void> reconnect(std::shared_ptr<ShimTask> task);

  ShimRuntime& runtime_;
  size_t pending_ = 0;
};

}  // namespace berth
