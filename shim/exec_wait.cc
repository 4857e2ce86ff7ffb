#include "shim/exec_wait.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <string>

namespace berth::shim {

namespace {
// The exec usually follows within microseconds (after the fifo's end of file)
// but may take longer (a startContainer hook, `runc start`): look again soon,
// then less and less often.
constexpr std::chrono::microseconds kFirstCheck{50};
constexpr std::chrono::microseconds kCheckAtMost{2000};
}  // namespace

std::optional<ExecutableId> executableOf(pid_t pid) {
  struct statx st {};
  // The magic link leads to the open file itself, whatever its path says in
  // the container's mount namespace; DONT_SYNC: the inode number as cached,
  // no round trip to an NFS or FUSE server on each look.
  std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  if (::statx(AT_FDCWD, exe.c_str(), AT_STATX_DONT_SYNC, STATX_INO, &st) != 0) return std::nullopt;
  return ExecutableId{makedev(st.stx_dev_major, st.stx_dev_minor), st.stx_ino};
}

asio::awaitable<bool> waitUntilExeced(pid_t pid, ExecutableId before, std::chrono::milliseconds deadline) {
  auto give_up = std::chrono::steady_clock::now() + deadline;
  // Only expiring waits: nothing left armed on the timerfd afterwards.
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto interval = kFirstCheck;
  for (;;) {
    if (executableOf(pid) != before) co_return true;
    if (std::chrono::steady_clock::now() >= give_up) co_return false;
    timer.expires_after(interval);
    co_await timer.async_wait(asio::use_awaitable);
    interval = std::min(interval * 2, kCheckAtMost);
  }
}

}  // namespace berth::shim
