#include "manager/shim_pid.h"

#include "common/fsutil.h"
#include "common/quiet_timers.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

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

namespace {
// State letter and start time from /proc/PID/stat.
bool readStat(pid_t pid, char& state, uint64_t& startTime) {
  std::optional<std::string> stat;
  try {
    stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  } catch (const std::exception&) {
    return false;
  }
  if (!stat) return false;
  // The command name (field 2) may hold spaces and parentheses: skip to the last ')'.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream in(stat->substr(close + 1));
  std::string field;
  // Field 3 is the state; field 22 the start time.
  if (!(in >> state)) return false;
  for (int i = 4; i < 22; ++i)
    if (!(in >> field)) return false;
  return static_cast<bool>(in >> startTime);
}
}  // namespace

std::optional<uint64_t> processStartTime(pid_t pid) {
  char state = 0;
  uint64_t start = 0;
  if (!readStat(pid, state, start)) return std::nullopt;
  return start;
}

bool shimAlive(const ShimPid& shim) {
  char state = 0;
  uint64_t start = 0;
  if (!readStat(shim.pid, state, start)) return false;
  if (state == 'Z' || state == 'X') return false;
  return shim.startTime == 0 || start == shim.startTime;
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
  asio::steady_timer timer(executor, deadline);
  timer.async_wait([&pidfd](const boost::system::error_code& ec) {
    if (!ec) pidfd.cancel();
  });
  boost::system::error_code ec;
  co_await pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
                            asio::redirect_error(asio::use_awaitable, ec));
  timer.cancel();
  settleTimerfd(static_cast<asio::io_context&>(executor.context()));
  co_return !ec;
}

asio::awaitable<bool> killShim(ShimPid shim, std::chrono::milliseconds deadline) {
  if (shimAlive(shim)) ::kill(shim.pid, SIGKILL);
  co_return co_await waitShimGone(shim, deadline);
}

}  // namespace berth
