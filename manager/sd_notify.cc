#include "manager/sd_notify.h"

#include "common/log.h"
#include "common/unique_fd.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace berth {

SdNotify SdNotify::fromEnvironment() {
  SdNotify n;
  if (const char* s = std::getenv("NOTIFY_SOCKET")) n.socket_ = s;
  ::unsetenv("NOTIFY_SOCKET");
  return n;
}

void SdNotify::send(const std::string& state) const {
  if (socket_.empty()) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // "@name" is an abstract socket: a NUL first, no terminating one
  if (socket_.size() >= sizeof(addr.sun_path) || (socket_[0] != '/' && socket_[0] != '@')) {
    BERTH_LOG(warn) << "NOTIFY_SOCKET " << socket_ << " is not a socket path: no " << state << " sent";
    return;
  }
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size());
  if (socket_[0] == '@') {
    addr.sun_path[0] = '\0';
  } else {
    ++len;  // (the path's NUL)
  }
  UniqueFd fd{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (fd.fd < 0 || ::sendto(fd.fd, state.data(), state.size(), MSG_NOSIGNAL,
                            reinterpret_cast<const sockaddr*>(&addr), len) < 0) {
    BERTH_LOG(warn) << "sending " << state << " to NOTIFY_SOCKET " << socket_ << ": " << std::strerror(errno);
    return;
  }
  BERTH_LOG(debug) << "told systemd " << state;
}

}  // namespace berth
