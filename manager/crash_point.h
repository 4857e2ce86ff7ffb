// TEST HOOK — fault injection for the crash-recovery tests (test/integration/
// rec_*.sh). Not a feature: with BERTH_CRASH_AT unset (always, in real use)
// crashPoint() is one cached branch and does nothing.
//
// BERTH_CRASH_AT=POINT[,POINT...] makes berthd _exit(137) — no destructors, no
// flushing beyond its log line, like a SIGKILL — the first time it reaches one
// of the named points:
//   create:  after-record       the task record is written, no shim yet
//            after-shim-start   `berth-shim start` returned, Shim.create not sent
//            after-runc-create  Shim.create returned (runc created the
//                               container), the record not yet marked created
//   start:   after-start        Shim.start returned, the client not answered
//   exec:    after-exec         Shim.exec returned, the client not answered
//   delete:  before-shim-delete the record says "deleting", Shim.delete not sent
//            after-shim-delete  Shim.delete returned (container gone), the
//                               shim not yet shut down
//            after-shim-shutdown the shim exited; its state dir and record remain
//            before-record-remove the state dir is gone, the record remains
//   events:  after-exit-journaled an init's /tasks/exit from its shim is in the
//                               journal, its last seq not yet in the task record
//            after-start-journaled the same for an init's /tasks/start (a run's
//                               start may come in before its create is committed)
//            after-lost-exit    a lost shim's /tasks/exit is published, the
//                               record not yet marked lost
#pragma once

#include <string_view>

namespace berth {

void crashPoint(std::string_view point);

}  // namespace berth
