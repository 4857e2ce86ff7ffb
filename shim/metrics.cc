#include "shim/metrics.h"

#include "common/errors.h"
#include "common/fsutil.h"

#include <libcgroup.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>

namespace berth::shim {

namespace {

void initOnce() {
  static bool done = false;
  if (done) return;
  int rc = cgroup_init();
  if (rc != 0) throw failedPrecondition(std::string("libcgroup: ") + cgroup_strerror(rc));
  done = true;
}

// One value file (first line), through libcgroup's value iterator.
std::optional<std::string> readValue(const char* controller, const std::string& path,
                                     const char* file) {
  void* handle = nullptr;
  char buf[256];
  int rc = cgroup_read_value_begin(controller, path.c_str(), const_cast<char*>(file), &handle,
                                   buf, sizeof(buf));
  if (rc != 0 && rc != ECGEOF) {
    if (handle) cgroup_read_value_end(&handle);
    return std::nullopt;
  }
  std::string value = rc == 0 ? buf : "";
  cgroup_read_value_end(&handle);
  while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
  return value;
}

uint64_t number(const std::optional<std::string>& v) {
  if (!v || v->empty() || *v == "max") return 0;
  return std::strtoull(v->c_str(), nullptr, 10);
}

// A "<controller>.stat" file as name → value, through libcgroup.
std::map<std::string, uint64_t> readStats(const char* controller, const std::string& path) {
  std::map<std::string, uint64_t> stats;
  void* handle = nullptr;
  cgroup_stat stat{};
  int rc = cgroup_read_stats_begin(controller, path.c_str(), &handle, &stat);
  while (rc == 0) {
    stats[stat.name] = std::strtoull(stat.value, nullptr, 10);
    rc = cgroup_read_stats_next(&handle, &stat);
  }
  if (handle) cgroup_read_stats_end(&handle);
  return stats;
}

// Keyed lines ("oom_kill 3") of any file.
std::map<std::string, uint64_t> readKeyed(const char* controller, const std::string& path,
                                          const char* file) {
  std::map<std::string, uint64_t> out;
  void* handle = nullptr;
  char buf[256];
  int rc = cgroup_read_value_begin(controller, path.c_str(), const_cast<char*>(file), &handle,
                                   buf, sizeof(buf));
  while (rc == 0) {
    char name[128];
    unsigned long long v;
    if (std::sscanf(buf, "%127s %llu", name, &v) == 2) out[name] = v;
    rc = cgroup_read_value_next(&handle, buf, sizeof(buf));
  }
  if (handle) cgroup_read_value_end(&handle);
  return out;
}

// v1's "no limit": LONG_MAX rounded down to the page size (0x7FFFFFFFFFFFF000
// with 4 KiB pages, ...F0000 with 64 KiB ones).
uint64_t unlimitedV1() {
  static const uint64_t value = [] {
    uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    return (0x7FFFFFFFFFFFFFFFULL / page) * page;
  }();
  return value;
}

TaskMetrics readV1(const CgroupPaths& p) {
  TaskMetrics m;
  if (p.hasV1("memory")) {
    const auto& path = p.v1.at("memory");
    auto usage = readValue("memory", path, "memory.usage_in_bytes");
    // A cgroup that is gone (a checkpoint --exit, a clean-up behind our back)
    // has no figures: all zeros would pass for a task that uses nothing.
    if (!usage) throw failedPrecondition("the task's memory cgroup " + path + " cannot be read (is it gone?)");
    m.memory.usage = number(usage);
    m.memory.limit = number(readValue("memory", path, "memory.limit_in_bytes"));
    if (m.memory.limit >= unlimitedV1()) m.memory.limit = 0;
    m.memory.maxUsage = number(readValue("memory", path, "memory.max_usage_in_bytes"));
    m.memory.oomKills = readKeyed("memory", path, "memory.oom_control")["oom_kill"];
    auto stat = readStats("memory", path);
    m.memory.cache = stat["cache"];
    m.memory.rss = stat["rss"];
    m.memory.mappedFile = stat["mapped_file"];
    m.memory.pgfault = stat["pgfault"];
    m.memory.pgmajfault = stat["pgmajfault"];
  }
  if (p.hasV1("cpuacct")) {
    const auto& path = p.v1.at("cpuacct");
    m.cpu.usageNs = number(readValue("cpuacct", path, "cpuacct.usage"));
    auto stat = readStats("cpuacct", path);  // in USER_HZ ticks
    uint64_t nsPerTick = 1000000000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    m.cpu.userNs = stat["user"] * nsPerTick;
    m.cpu.systemNs = stat["system"] * nsPerTick;
  }
  if (p.hasV1("cpu")) {
    auto stat = readStats("cpu", p.v1.at("cpu"));
    m.cpu.throttledPeriods = stat["nr_throttled"];
    m.cpu.throttledTimeNs = stat["throttled_time"];
  }
  if (p.hasV1("pids")) {
    const auto& path = p.v1.at("pids");
    m.pids.current = number(readValue("pids", path, "pids.current"));
    m.pids.limit = number(readValue("pids", path, "pids.max"));
  }
  return m;
}

TaskMetrics readV2(const std::string& path) {
  TaskMetrics m;
  // (no memory.current: no memory controller here; the cgroup itself is
  // checked in readMetrics)
  m.memory.usage = number(readValue("memory", path, "memory.current"));
  m.memory.limit = number(readValue("memory", path, "memory.max"));
  m.memory.maxUsage = number(readValue("memory", path, "memory.peak"));
  m.memory.oomKills = readKeyed("memory", path, "memory.events")["oom_kill"];
  auto mem = readStats("memory", path);
  m.memory.cache = mem["file"];
  m.memory.rss = mem["anon"];
  m.memory.mappedFile = mem["file_mapped"];
  m.memory.pgfault = mem["pgfault"];
  m.memory.pgmajfault = mem["pgmajfault"];
  auto cpu = readStats("cpu", path);  // in µs
  m.cpu.usageNs = cpu["usage_usec"] * 1000;
  m.cpu.userNs = cpu["user_usec"] * 1000;
  m.cpu.systemNs = cpu["system_usec"] * 1000;
  m.cpu.throttledPeriods = cpu["nr_throttled"];
  m.cpu.throttledTimeNs = cpu["throttled_usec"] * 1000;
  m.pids.current = number(readValue("pids", path, "pids.current"));
  m.pids.limit = number(readValue("pids", path, "pids.max"));
  return m;
}

}  // namespace

TaskMetrics readMetrics(const CgroupPaths& paths) {
  if (paths.v1.empty() && !paths.unified) {
    throw failedPrecondition("the task has no cgroup to read metrics from");
  }
  initOnce();
  if (paths.v1.empty()) {
    // (v2's files read as nothing when the cgroup is gone, as v1's memory
    // usage is checked in readV1: zeros would pass for a task using nothing)
    const std::string dir = kCgroupRoot + *paths.unified;
    if (!pathExists(dir)) throw failedPrecondition("the task's cgroup " + dir + " cannot be read (is it gone?)");
    return readV2(*paths.unified);
  }
  return readV1(paths);
}

}  // namespace berth::shim
