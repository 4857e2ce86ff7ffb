// Where a process's cgroups are, from /proc/PID/cgroup.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace berth::shim {

// Where the hierarchies are mounted (v1: one dir per controller below it).
inline constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

struct CgroupPaths {
  // cgroup v1: controller → path relative to that controller's hierarchy
  // ("memory" → "/default/t1"). Empty on a pure v2 host.
  std::map<std::string, std::string> v1;
  // cgroup v2 (unified): the path relative to the v2 root, if any.
  std::optional<std::string> unified;

  bool hasV1(const std::string& controller) const { return v1.count(controller) > 0; }
};

CgroupPaths cgroupPathsOf(int pid);
// The same from the text of a /proc/PID/cgroup file.
CgroupPaths parseCgroupFile(const std::string& text);

}  // namespace berth::shim
