// Holding a container's mount namespace open from create to delete.
//
// When the last process in a mount namespace exits, the kernel tears the
// namespace down inside that exit, before the parent is told: it unmounts
// the container's whole mount tree and waits for an expedited RCU grace
// period (namespace_unlock, from free_nsproxy in do_exit). On the 2-vCPU
// reference VM that is 0.3–1.4 ms between a `kill -9` and our SIGCHLD, most
// of an exit event's latency. With /proc/PID/ns/mnt open here, the exit only
// drops a reference, and the teardown happens when the shim releases the
// pin: at delete, off the exit's path.
#pragma once

#include <sys/types.h>

namespace berth::shim {

class MountNamespacePin {
public:
  MountNamespacePin() = default;
  MountNamespacePin(const MountNamespacePin&) = delete;
  MountNamespacePin& operator=(const MountNamespacePin&) = delete;
  ~MountNamespacePin() { release(); }

  // Opens the mount namespace of `pid`; a failure (the process is already
  // gone) is logged at debug level and leaves nothing pinned.
  void pin(pid_t pid);
  // Drops the reference; if it was the last, the teardown runs now, here.
  void release();
  bool pinned() const { return fd_ >= 0; }

private:
  int fd_ = -1;
};

}  // namespace berth::shim
