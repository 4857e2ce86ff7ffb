// Rootfs mounts from CreateOpts (containerd's mount.Mount): mounted at
// BUNDLE/rootfs before runc create, in order, and unmounted in reverse at
// delete — and by `berth-shim delete` after a shim died, from the record we
// keep in the state dir.
#pragma once

#include <string>
#include <vector>

namespace berth::shim {

struct MountSpec {
  std::string type, source, target;
  std::vector<std::string> options;
};

// Mounts every spec at `rootfs` (or at its `target` inside the rootfs);
// records each in `recordFile` as it goes. On failure unmounts what it
// mounted and throws invalid-argument.
void mountRootfs(const std::vector<MountSpec>& mounts, const std::string& rootfs,
                 const std::string& recordFile);

// Unmounts what `recordFile` lists (innermost first) and removes the record.
// Missing record: nothing to do.
void unmountRootfs(const std::string& recordFile);

}  // namespace berth::shim
