#include "shim/cgroup_paths.h"

#include "common/fsutil.h"

#include <sstream>

namespace berth::shim {

CgroupPaths parseCgroupFile(const std::string& text) {
  CgroupPaths paths;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    // "ID:CONTROLLERS:PATH"
    auto a = line.find(':');
    auto b = line.find(':', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && controllers.empty()) {
      paths.unified = path;
      continue;
    }
    std::istringstream names(controllers);
    for (std::string name; std::getline(names, name, ',');) {
      if (!name.empty()) paths.v1[name] = path;
    }
  }
  // An empty v2 mount beside v1 hierarchies (this host) holds no controllers.
  if (!paths.v1.empty() && paths.unified && *paths.unified == "/") paths.unified.reset();
  return paths;
}

CgroupPaths cgroupPathsOf(int pid) {
  auto text = readFile("/proc/" + std::to_string(pid) + "/cgroup");
  return text ? parseCgroupFile(*text) : CgroupPaths{};
}

}  // namespace berth::shim
