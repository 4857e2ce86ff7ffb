// Task metrics through libcgroup, reading only the few files we need (its
// cgroup_get_cgroup reads every file of every controller: about 2 ms a call
// here, against tens of µs for the values below).
#pragma once

#include "shim/cgroup_paths.h"

#include <cstdint>

namespace berth::shim {

struct MemoryMetrics {
  uint64_t usage = 0, limit = 0, maxUsage = 0, oomKills = 0;
  uint64_t cache = 0, rss = 0, mappedFile = 0, pgfault = 0, pgmajfault = 0;
};
struct CpuMetrics {
  uint64_t usageNs = 0, userNs = 0, systemNs = 0, throttledPeriods = 0, throttledTimeNs = 0;
};
struct PidsMetrics {
  uint64_t current = 0, limit = 0;  // limit 0: none
};
struct TaskMetrics {
  MemoryMetrics memory;
  CpuMetrics cpu;
  PidsMetrics pids;
};

// Throws failed-precondition when the task has no cgroup we can read.
TaskMetrics readMetrics(const CgroupPaths& paths);

}  // namespace berth::shim
