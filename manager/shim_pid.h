// Which process a shim is: STATE/NS/ID/shim.pid holds "PID STARTTIME"
// (starttime: field 22 of /proc/PID/stat), so a reused pid is never mistaken
// for the shim. A shim is not always berthd's child (a restarted berthd's are
// not), so berthd checks and kills shims by pid + start time, through a
// pidfd, and waits for their end on that pidfd.
#pragma once

#include "common/asio.h"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace berth {

struct ShimPid {
  pid_t pid = 0;
  uint64_t startTime = 0;
};

// nullopt if the file is missing or unreadable.
std::optional<ShimPid> readShimPid(const std::string& stateDir);
// Field 22 of /proc/PID/stat; nullopt if there is no such process.
std::optional<uint64_t> processStartTime(pid_t pid);
// The very process is still there (not a zombie, same start time).
bool shimAlive(const ShimPid& shim);

// SIGKILLs the shim if it is still that process, then waits up to
// `deadline` for it to be gone. Returns whether it is gone.
asio::awaitable<bool> killShim(ShimPid shim, std::chrono::milliseconds deadline);
// Waits up to `deadline` for the shim to exit by itself.
asio::awaitable<bool> waitShimGone(ShimPid shim, std::chrono::milliseconds deadline);

}  // namespace berth
