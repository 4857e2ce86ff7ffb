// Fields of /proc/PID/stat. The start time (field 22) is written beside a
// pid (shim.pid) by the shim and compared by berthd, so a reused pid is never
// taken for the shim: both sides read it here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace berth {

struct ProcStat {
  char state = 0;          // field 3: R, S, Z, ...
  uint64_t startTime = 0;  // field 22, clock ticks since boot
};

// nullopt if the process does not exist (or its stat cannot be read).
std::optional<ProcStat> readProcStat(pid_t pid);

}  // namespace berth
