#include "shim/ns_pins.h"

#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace berth::shim {

void NamespacePins::pin(pid_t pid) {
  release();
  for (size_t i = 0; i < kKinds.size(); ++i) {
    std::string path = "/proc/" + std::to_string(pid) + "/ns/" + kKinds[i];
    fds_[i] = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fds_[i] < 0) {
      BERTH_LOG(debug) << "open " << path << ": " << std::strerror(errno) << " (not pinned)";
    }
  }
}

void NamespacePins::release() {
  for (int& fd : fds_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

}  // namespace berth::shim
