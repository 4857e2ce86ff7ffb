// A file descriptor closed on every exit path. Move-only. A close error is
// ignored, as by every caller so far (descriptors read from, written and
// fsync'ed already, or handed on to a child).
#pragma once

#include <unistd.h>

#include <utility>

namespace berth {

struct UniqueFd {
  int fd = -1;

  UniqueFd() = default;
  explicit UniqueFd(int f) : fd(f) {}
  UniqueFd(UniqueFd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd = std::exchange(o.fd, -1);
    }
    return *this;
  }
  ~UniqueFd() { reset(); }

  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int release() { return std::exchange(fd, -1); }
};

}  // namespace berth
