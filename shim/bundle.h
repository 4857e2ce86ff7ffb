// The bundle runc actually runs, as containerd writes its own: a copy of the
// user's config.json in the task's state dir with what berth owns filled in
// — the terminal flag from the task's IO, a cgroup path of its own
// (PARENT/NS/ID, /berth/NS/ID by default, so equal ids in two namespaces
// never share a cgroup) when the spec names none, and an absolute root path
// — while the rootfs stays in
// the user's bundle. The user's files are never modified.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace berth::shim {

struct PreparedBundle {
  std::string dir;     // what runc gets as --bundle
  std::string rootfs;  // absolute; where rootfs mounts go
  // The spec has hooks that `runc start` may run (poststart, runc >= 1.2):
  // then the task is started by `runc start`, never through the exec fifo.
  bool startHooks = false;
};

// A config.json that does not parse is left to runc, so the user reads
// runc's own words about it: then `dir` is the user's bundle.
// `cgroupPath` is used where the spec names no linux.cgroupsPath.
PreparedBundle prepareBundle(const std::string& userBundle, const std::string& stateDir,
                             const std::string& cgroupPath, bool terminal);

// The spec's process object (for exec specs), from the prepared bundle.
nlohmann::json bundleProcess(const std::string& bundleDir);

}  // namespace berth::shim
