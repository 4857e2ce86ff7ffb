#include "manager/shim_pid.h"

#include "common/fsutil.h"
#include "common/proc_stat.h"
#include "common/readable_within.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

namespace berth {

std::optional<ShimPid> readShimPid(const std::string& stateDir) {
  std::optional<std::string> text;
  try {
    text = readFile(stateDir + "/shim.pid");
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  ShimPid p;
  long long pid = 0;
  if (!(in >> pid) || pid <= 1) return std::nullopt;
  p.pid = static_cast<pid_t>(pid);
  if (!(in >> p.startTime)) p.startTime = 0;  // no start time: trust the pid alone
  return p;
}

std::optional<uint64_t> processStartTime(pid_t pid) {
  auto stat = readProcStat(pid);
  if (!stat) return std::nullopt;
  return stat->startTime;
}

bool shimAlive(const ShimPid& shim) {
  auto stat = readProcStat(shim.pid);
  if (!stat || stat->state == 'Z' || stat->state == 'X') return false;
  return shim.startTime == 0 || stat->startTime == shim.startTime;
}

asio::awaitable<bool> waitShimGone(ShimPid shim, std::chrono::milliseconds deadline) {
  auto executor = co_await asio::this_coro::executor;
  // A pidfd turns readable the moment the process exits: no polling. The
  // shim is not our child, so waitpid cannot tell us.
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, shim.pid, 0));
  if (fd < 0) co_return !shimAlive(shim);  // ESRCH: gone already
  asio::posix::stream_descriptor pidfd(executor, fd);
  // Checked after the open, so the pidfd names the shim, not a reused pid.
  if (!shimAlive(shim)) co_return true;
  // (A timer that cancels the pidfd's wait could fire in the same turn as
  // the exit and then cancel through a pidfd already gone: readableWithin
  // guards against that.)
  co_return co_await readableWithin(pidfd, deadline);
}

asio::awaitable<bool> killShim(ShimPid shim, std::chrono::milliseconds deadline) {
  // Through a pidfd opened before the check: between the check and the
  // signal the pid cannot become another process's.
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, shim.pid, 0));
  if (fd >= 0) {
    if (shimAlive(shim)) ::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
    ::close(fd);
  } else if (errno != ESRCH && shimAlive(shim)) {
    ::kill(shim.pid, SIGKILL);  // no pidfd to be had (the fd limit): by pid
  }
  co_return co_await waitShimGone(shim, deadline);
}

}  // namespace berth
