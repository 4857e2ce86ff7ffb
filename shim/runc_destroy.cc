#include "shim/runc_destroy.h"

#include "common/fsutil.h"
#include "common/log.h"
#include "shim/cgroup_paths.h"

#include <dirent.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <set>

namespace berth::shim {

namespace {

using nlohmann::json;

// Nothing for `runc delete` to do beyond cgroups and the state dir?
bool plain(const json& state) {
  const json& config = state.value("config", json::object());
  if (config.contains("Hooks") && config["Hooks"].is_object()) {
    for (const auto& [name, hooks] : config["Hooks"].items()) {
      if (!hooks.is_null() && !hooks.empty()) return false;
    }
  }
  bool ownPidNamespace = false;
  for (const auto& ns : config.value("namespaces", json::array())) {
    if (ns.value("type", "") == "NEWPID" && ns.value("path", "").empty()) ownPidNamespace = true;
  }
  if (!ownPidNamespace) return false;
  const json& cgroups = config.value("cgroups", json::object());
  if (cgroups.value("Systemd", false)) return false;
  if (state.contains("intel_rdt_path") && state["intel_rdt_path"].is_string() &&
      !state["intel_rdt_path"].get<std::string>().empty()) {
    return false;
  }
  return state.contains("cgroup_paths") && state["cgroup_paths"].is_object();
}

// rmdir of a cgroup and its children, deepest first (cgroupfs has no files
// to unlink). False on anything but success or ENOENT.
bool removeCgroup(const std::string& path) {
  if (DIR* d = ::opendir(path.c_str())) {
    std::vector<std::string> children;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (e->d_type == DT_DIR && n != "." && n != "..") children.push_back(path + "/" + n);
    }
    ::closedir(d);
    for (const auto& c : children) {
      if (!removeCgroup(c)) return false;
    }
  } else if (errno == ENOENT) {
    return true;
  }
  if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return true;
  BERTH_LOG(debug) << "rmdir " << path << ": " << strerror(errno) << "; leaving it to runc delete";
  return false;
}

}  // namespace

bool destroyStoppedContainer(const std::string& containerDir) {
  json state;
  try {
    auto text = readFile(containerDir + "/state.json");
    if (!text) return false;
    state = json::parse(*text);
    if (!state.is_object() || !plain(state)) return false;
  } catch (const std::exception&) {
    return false;
  }
  std::set<std::string> paths;  // co-mounted controllers share a directory
  for (const auto& [controller, path] : state["cgroup_paths"].items()) {
    if (!path.is_string()) return false;
    std::string p = path.get<std::string>();
    if (p.empty()) continue;
    if (p.rfind(std::string(kCgroupRoot) + "/", 0) != 0 || p.find("/../") != std::string::npos) return false;
    paths.insert(p);
  }
  for (const auto& p : paths) {
    if (!removeCgroup(p)) return false;
  }
  try {
    removeTree(containerDir);
  } catch (const std::exception& e) {
    BERTH_LOG(warn) << "removing " << containerDir << ": " << e.what() << "; leaving it to runc delete";
    return false;
  }
  return true;
}

}  // namespace berth::shim
