// The one place that calls waitpid: one SIGCHLD handler reaps every child
// with waitpid(-1, WNOHANG) and hands each (pid, status) to its owner.
//
// Owners register right after fork, before the loop runs again, so a runc
// invocation can never lose its exit. A process we learn of later (the
// container's init, whose pid comes from runc's pid file after it may already
// have died) finds its exit kept here and gets it on registration.
#pragma once

#include "common/asio.h"

#include <sys/types.h>

#include <deque>
#include <functional>
#include <unordered_map>

namespace berth {

class Reaper {
 public:
  using Callback = std::function<void(int waitStatus)>;

  explicit Reaper(asio::io_context& io);

  // Calls `onExit` once `pid` is reaped (at once if it already was).
  void watch(pid_t pid, Callback onExit);
  // Forgets a registration (the owner lost interest; the exit will be kept).
  void unwatch(pid_t pid);
  // Waits for `pid`'s exit from a coroutine.
  asio::awaitable<int> wait(pid_t pid);

  // Exits that nobody registered for (orphans reparented to us); optional.
  std::function<void(pid_t, int)> onUnclaimed;

  // Reaps now (the SIGCHLD handler does this; tests may too).
  void reapAll();

 private:
  void arm();

  asio::signal_set sigchld_;
  std::unordered_map<pid_t, Callback> owners_;
  // Unclaimed exits, kept for a late registration; bounded so orphans that
  // nobody will ever ask about cannot grow it without limit.
  std::unordered_map<pid_t, int> kept_;
  std::deque<pid_t> keptOrder_;
};

// Wait status as "exited N" / "killed by SIGNAME" for messages.
std::string describeWaitStatus(int status);

}  // namespace berth
