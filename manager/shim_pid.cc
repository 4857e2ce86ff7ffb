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
    text = readFile(stateDir + "/shim.pid", 64);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  ShimPid p;
  long long pid = 0;
  if (!(in >> pid) || pid <= 1) return std::nullopt;
  p.pid = static_cast<pid_t>(pid);
  // Without its start time the pid could be anyone's by now: a shim we
  // cannot tell from a stranger is never signalled (shimAlive, killShim).
  if (!(in >> p.startTime) || p.startTime == 0) return std::nullopt;
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
  return stat->startTime == shim.startTime;
}

namespace {
// Waits up to `deadline` for the shim's end, SIGKILLing it first if `kill`.
asio::awaitable<bool> endOfShim(ShimPid shim, std::chrono::milliseconds deadline, bool kill) {
  auto executor = co_await asio::this_coro::executor;
  // A pidfd turns readable the moment the process exits: no polling. The
  // shim is not our child, so waitpid cannot tell us.
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, shim.pid, 0));
  if (fd < 0) {
    // ESRCH: gone already. Otherwise (the fd limit) no pidfd to be had:
    // killed by pid, checked just before.
    if (kill && errno != ESRCH && shimAlive(shim)) ::kill(shim.pid, SIGKILL);
    co_return !shimAlive(shim);
  }
  asio::posix::stream_descriptor pidfd(executor, fd);
  // Checked after the open, so the pidfd names the shim, not a reused pid:
  // between the check and the signal the pid cannot become another's.
  if (!shimAlive(shim)) co_return true;
  if (kill) ::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
  // (A timer that cancels the pidfd's wait could fire in the same turn as
  // the exit and then cancel through a pidfd already gone: readableWithin
  // guards against that.)
  co_return co_await readableWithin(pidfd, deadline);
}
}  // namespace

asio::awaitable<bool> waitShimGone(ShimPid shim, std::chrono::milliseconds deadline) {
  co_return co_await endOfShim(shim, deadline, false);
}

asio::awaitable<bool> killShim(ShimPid shim, std::chrono::milliseconds deadline) {
  co_return co_await endOfShim(shim, deadline, true);
}

}  // namespace berth
