#include "manager/shim_pid.h"

#include "common/fsutil.h"

#include <signal.h>

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
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto end = std::chrono::steady_clock::now() + deadline;
  while (shimAlive(shim)) {
    if (std::chrono::steady_clock::now() >= end) co_return false;
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return true;
}

asio::awaitable<bool> killShim(ShimPid shim, std::chrono::milliseconds deadline) {
  if (shimAlive(shim)) ::kill(shim.pid, SIGKILL);
  co_return co_await waitShimGone(shim, deadline);
}

}  // namespace berth
