#pragma once
#include <string>
#include <vector>

namespace berth::shim {

// How the daemon tells its starter it is ready: `message` on `fd`.
struct ReadyNotice {
  int fd = -1;
  std::string message;
};

// Turns this process into the shim daemon; returns (in the daemon only) the
// notice to pass to notifyReady() once shim.pid is written. Readiness is `address`
// on the caller's stdout (the socket is bound and listening; connections
// queue until we accept).
//
// fork: the `start` command of a shell or a test — fork, and the parent waits
// for the child's notice, prints `address` and exits 0 (1 if the child died
// first). Without fork (`start --no-fork`, how berthd starts shims: it
// already made us a session leader and reads our stdout without waiting for
// an exit), this process is the daemon and notifyReady() prints `address`
// itself: that saves a fork, its copy-on-write faults and an exit per task.
// Either way `keepFds` (the listener, the runtime's copy) survive and every
// other inherited fd is closed; stdout and stderr go to `logFile`.
ReadyNotice daemonize(const std::string& address, const std::string& logFile,
                      std::vector<int> keepFds, bool fork);
void notifyReady(const ReadyNotice& ready);

// "PID STARTTIME" for shim.pid: the start time tells a live shim from a
// process that reused its pid.
std::string pidWithStartTime(int pid);

}  // namespace berth::shim
