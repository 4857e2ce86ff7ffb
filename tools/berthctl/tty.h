// Terminal helpers for `run --tty` / `exec --tty`.
#pragma once

#include <termios.h>

#include <cstdint>
#include <optional>
#include <utility>

namespace berthctl {

// Puts FD's terminal in raw mode while alive (nothing if FD is not a tty).
class RawMode {
 public:
  explicit RawMode(int fd);
  ~RawMode();
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;
  void restore();

 private:
  int fd_;
  bool active_ = false;
  termios saved_{};
};

// Restores FD's file status flags (O_NONBLOCK) on destruction: Asio makes the
// descriptors it reads non-blocking, and fd 0 is shared with our parent shell.
class FdFlagsGuard {
 public:
  explicit FdFlagsGuard(int fd);
  ~FdFlagsGuard();
  FdFlagsGuard(const FdFlagsGuard&) = delete;
  FdFlagsGuard& operator=(const FdFlagsGuard&) = delete;

 private:
  int fd_;
  int flags_;
};

// {width (columns), height (rows)} of the terminal on FD, if it is one.
std::optional<std::pair<uint32_t, uint32_t>> windowSize(int fd);

}  // namespace berthctl
