#include "shim/mount_ns_pin.h"

#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace berth::shim {

void MountNamespacePin::pin(pid_t pid) {
  release();
  std::string path = "/proc/" + std::to_string(pid) + "/ns/mnt";
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    BERTH_LOG(debug) << "open " << path << ": " << std::strerror(errno) << " (not pinned)";
  }
}

void MountNamespacePin::release() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
}

}  // namespace berth::shim
