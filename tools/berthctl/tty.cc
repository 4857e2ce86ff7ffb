#include "tools/berthctl/tty.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace berthctl {

RawMode::RawMode(int fd) : fd_(fd) {
  if (!::isatty(fd_) || ::tcgetattr(fd_, &saved_) != 0) return;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  // Keep output post-processing off too: the container's pty already sends \r\n.
  if (::tcsetattr(fd_, TCSANOW, &raw) == 0) active_ = true;
}

RawMode::~RawMode() { restore(); }

void RawMode::restore() {
  if (!active_) return;
  ::tcsetattr(fd_, TCSANOW, &saved_);
  active_ = false;
}

FdFlagsGuard::FdFlagsGuard(int fd) : fd_(fd), flags_(::fcntl(fd, F_GETFL)) {}

FdFlagsGuard::~FdFlagsGuard() {
  if (flags_ != -1) ::fcntl(fd_, F_SETFL, flags_);
}

std::optional<std::pair<uint32_t, uint32_t>> windowSize(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0) return std::nullopt;
  return std::make_pair(static_cast<uint32_t>(ws.ws_col), static_cast<uint32_t>(ws.ws_row));
}

}  // namespace berthctl
