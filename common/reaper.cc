#include "common/reaper.h"

#include "common/log.h"

#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

namespace berth {

namespace {
constexpr size_t kKeptExits = 4096;
}

Reaper::Reaper(asio::io_context& io) : sigchld_(io, SIGCHLD) { arm(); }

Reaper::~Reaper() { *alive_ = false; }

void Reaper::arm() {
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reapAll();
    arm();
  });
}

namespace {
// waitid's siginfo as the status word waitpid would have given.
int waitStatusOf(const siginfo_t& si) {
  switch (si.si_code) {
    case CLD_EXITED: return (si.si_status & 0xff) << 8;
    case CLD_DUMPED: return (si.si_status & 0x7f) | 0x80;
    default: return si.si_status & 0x7f;  // CLD_KILLED
  }
}
}  // namespace

void Reaper::reapAll() {
  if (reapQueued_) return;  // the queued reap calls back here
  siginfo_t si{};
  for (;;) {
    si = {};
    if (::waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0) break;
    if (errno != EINTR) return;  // ECHILD: no children left
  }
  pid_t pid = si.si_pid;
  if (pid == 0) return;  // children left, none exited
  dispatch(pid, waitStatusOf(si));
  reapQueued_ = true;
  asio::post(sigchld_.get_executor(), [this, pid, alive = alive_] {
    if (!*alive) return;
    reapQueued_ = false;
    int status;
    while (::waitpid(pid, &status, WNOHANG) < 0 && errno == EINTR) {
    }
    reapAll();  // the next exit, if another child died meanwhile
  });
}

void Reaper::dispatch(pid_t pid, int status) {
  auto it = owners_.find(pid);
  if (it != owners_.end()) {
    Callback cb = std::move(it->second);
    owners_.erase(it);
    cb(status);
    return;
  }
  if (onUnclaimed) onUnclaimed(pid, status);
  kept_[pid] = status;
  keptOrder_.push_back(pid);
  if (keptOrder_.size() > kKeptExits) {
    kept_.erase(keptOrder_.front());
    keptOrder_.pop_front();
  }
}

void Reaper::watch(pid_t pid, Callback onExit) {
  auto it = kept_.find(pid);
  if (it != kept_.end()) {
    int status = it->second;
    kept_.erase(it);
    std::erase(keptOrder_, pid);
    onExit(status);
    return;
  }
  owners_[pid] = std::move(onExit);
}

void Reaper::unwatch(pid_t pid) { owners_.erase(pid); }

asio::awaitable<int> Reaper::wait(pid_t pid) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(int)>(
      [this, pid](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        auto executor = sigchld_.get_executor();
        // Resume the coroutine from the loop, never from inside reapAll().
        watch(pid, [h, executor](int status) {
          asio::post(executor, [h, status]() { (*h)(status); });
        });
      },
      asio::use_awaitable);
}

std::string describeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("killed by ") + sigabbrev_np(WTERMSIG(status));
  }
  return "status " + std::to_string(status);
}

}  // namespace berth
