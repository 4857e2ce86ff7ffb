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

void Reaper::arm() {
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reapAll();
    arm();
  });
}

void Reaper::reapAll() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;  // 0: children left but none exited; ECHILD: none left
    auto it = owners_.find(pid);
    if (it != owners_.end()) {
      Callback cb = std::move(it->second);
      owners_.erase(it);
      cb(status);
      continue;
    }
    if (onUnclaimed) onUnclaimed(pid, status);
    kept_[pid] = status;
    keptOrder_.push_back(pid);
    if (keptOrder_.size() > kKeptExits) {
      kept_.erase(keptOrder_.front());
      keptOrder_.pop_front();
    }
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
