// Task metrics through libcgroup, reading only the few files we need (its
// cgroup_get_cgroup reads every file of every controller: about 2 ms a call
// here, against tens of µs for the values below).
#pragma once

#include "common/task_metrics.h"
#include "shim/cgroup_paths.h"

#include <cstdint>

namespace berth::shim {

using berth::TaskMetrics;

// Throws failed-precondition when the task has no cgroup we can read.
TaskMetrics readMetrics(const CgroupPaths& paths);

}  // namespace berth::shim
