// Holding a container's mount and network namespaces open from create to
// delete, so that their teardown is not in the path of the init's exit.
//
// mnt: when the last process in a mount namespace exits, the kernel tears
// the namespace down inside that exit, before the parent is told: it
// unmounts the container's whole mount tree and waits for an expedited RCU
// grace period (namespace_unlock, from free_nsproxy in do_exit). On the
// 2-vCPU reference VM that was 0.3–1.4 ms between a `kill -9` and our
// SIGCHLD, most of an exit event's latency.
//
// net: the last exit queues cleanup_net, which a kworker runs at once: about
// a millisecond of CPU (devices, RCU barriers) on one of the two vCPUs, while
// the shim, berthd and the client pass the exit event along.
//
// With /proc/PID/ns/{mnt,net} open here, the exit only drops references, and
// the teardown happens when the shim releases the pins: at delete.
#pragma once

#include <sys/types.h>

#include <array>

namespace berth::shim {

class NamespacePins {
public:
  NamespacePins() = default;
  NamespacePins(const NamespacePins&) = delete;
  NamespacePins& operator=(const NamespacePins&) = delete;
  ~NamespacePins() { release(); }

  // Opens the namespaces of `pid`; a failure (the process is already gone)
  // is logged at debug level and leaves that namespace unpinned.
  void pin(pid_t pid);
  // Drops the references; if they were the last, the teardown runs now, here.
  void release();
  bool pinned() const { return fds_[0] >= 0; }

private:
  static constexpr std::array<const char*, 2> kKinds = {"mnt", "net"};
  std::array<int, kKinds.size()> fds_ = {-1, -1};
};

}  // namespace berth::shim
