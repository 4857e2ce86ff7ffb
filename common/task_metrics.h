// A task's metrics as plain values (the shim reads them, berthd passes them
// on), and their one mapping to and from the wire.
#pragma once

#include "types.capnp.h"

#include <cstdint>

namespace berth {

struct TaskMetrics {
  struct Memory {
    uint64_t usage = 0, limit = 0, maxUsage = 0, oomKills = 0;
    uint64_t cache = 0, rss = 0, mappedFile = 0, pgfault = 0, pgmajfault = 0;
  } memory;
  struct Cpu {
    uint64_t usageNs = 0, userNs = 0, systemNs = 0, throttledPeriods = 0, throttledTimeNs = 0;
  } cpu;
  struct Pids {
    uint64_t current = 0, limit = 0;  // limit 0: none
  } pids;
};

TaskMetrics fromWire(wire::Metrics::Reader r);
void toWire(const TaskMetrics& m, wire::Metrics::Builder b);

}  // namespace berth
