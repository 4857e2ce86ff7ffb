// Waiting for a container's init to exec the user's process.
//
// Both ways of starting a created container may end a moment before that
// exec: `runc start` returns once it has read the byte the init writes to its
// exec fifo, and startThroughExecFifo once the init's end of the fifo closes.
// After the byte, runc's init runs any startContainer hooks and closes its
// descriptors (runc 1.1.12, and Debian's 1.1.5+deb12u1 with the CVE-2024-21626
// fix, close them all by hand, the fifo's end too), and then execs. Until then the
// pid is runc's Go init, which catches every signal: a SIGTERM sent in that
// window kills it with status 2 instead of reaching the user's handler. So a
// start returns only once the init runs something else.
#pragma once

#include "common/asio.h"

#include <sys/types.h>

#include <chrono>
#include <optional>

namespace berth::shim {

// The file a process executes: what /proc/PID/exe resolves to (a memfd or a
// deleted file too), by device and inode.
struct ExecutableId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const ExecutableId&) const = default;
};

// What `pid` executes now; nullopt when it is gone or a zombie.
std::optional<ExecutableId> executableOf(pid_t pid);

// Returns true once `pid` no longer executes `before` (it exec'd, or it is
// gone); false if it still does when `deadline` has passed. Polls: 50 µs
// after the first look, then twice as long each time, up to 2 ms.
asio::awaitable<bool> waitUntilExeced(pid_t pid, ExecutableId before, std::chrono::milliseconds deadline);

}  // namespace berth::shim
