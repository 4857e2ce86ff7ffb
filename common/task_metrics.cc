#include "common/task_metrics.h"

namespace berth {

TaskMetrics fromWire(wire::Metrics::Reader r) {
  TaskMetrics m;
  auto mem = r.getMemory();
  m.memory = {mem.getUsage(), mem.getLimit(),      mem.getMaxUsage(), mem.getOomKills(),
              mem.getCache(), mem.getRss(),        mem.getMappedFile(), mem.getPgfault(),
              mem.getPgmajfault()};
  auto cpu = r.getCpu();
  m.cpu = {cpu.getUsageNs(), cpu.getUserNs(), cpu.getSystemNs(), cpu.getThrottledPeriods(),
           cpu.getThrottledTimeNs()};
  auto pids = r.getPids();
  m.pids = {pids.getCurrent(), pids.getLimit()};
  return m;
}

void toWire(const TaskMetrics& m, wire::Metrics::Builder b) {
  auto mem = b.initMemory();
  mem.setUsage(m.memory.usage);
  mem.setLimit(m.memory.limit);
  mem.setMaxUsage(m.memory.maxUsage);
  mem.setOomKills(m.memory.oomKills);
  mem.setCache(m.memory.cache);
  mem.setRss(m.memory.rss);
  mem.setMappedFile(m.memory.mappedFile);
  mem.setPgfault(m.memory.pgfault);
  mem.setPgmajfault(m.memory.pgmajfault);
  auto cpu = b.initCpu();
  cpu.setUsageNs(m.cpu.usageNs);
  cpu.setUserNs(m.cpu.userNs);
  cpu.setSystemNs(m.cpu.systemNs);
  cpu.setThrottledPeriods(m.cpu.throttledPeriods);
  cpu.setThrottledTimeNs(m.cpu.throttledTimeNs);
  auto pids = b.initPids();
  pids.setCurrent(m.pids.current);
  pids.setLimit(m.pids.limit);
}

}  // namespace berth
