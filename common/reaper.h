// The one place that calls waitpid: one SIGCHLD handler reaps every child
// and hands each (pid, status) to its owner.
//
// An exit is handed over before it is reaped: waitid(WNOWAIT) reads it, the
// owner's callback runs, and the reap itself waits for the handlers queued
// meanwhile (the exit event's write among them). Reaping a container's init
// drops its /proc dentries in every proc mount, ~80 us on the reference
// machine that need not stand between the exit and its event. Until then the
// pid stays a zombie, so it cannot be reused.
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
#include <memory>
#include <unordered_map>

namespace berth {

class Reaper {
 public:
  using Callback = std::function<void(int waitStatus)>;

  explicit Reaper(asio::io_context& io);
  ~Reaper();

  // Calls `onExit` once `pid` is reaped (at once if it already was).
  void watch(pid_t pid, Callback onExit);
  // Forgets a registration (the owner lost interest; the exit will be kept).
  void unwatch(pid_t pid);
  // Waits for `pid`'s exit from a coroutine.
  asio::awaitable<int> wait(pid_t pid);

  // Exits that nobody registered for (orphans reparented to us); optional.
  std::function<void(pid_t, int)> onUnclaimed;

  // Hands out the next exit now (the SIGCHLD handler does this).
  void reapAll();

 private:
  void arm();
  void dispatch(pid_t pid, int status);

  asio::signal_set sigchld_;
  std::unordered_map<pid_t, Callback> owners_;
  // Unclaimed exits, kept for a late registration; bounded so orphans that
  // nobody will ever ask about cannot grow it without limit.
  std::unordered_map<pid_t, int> kept_;
  std::deque<pid_t> keptOrder_;
  // An exit was handed out and its reap is queued: the next one waits for it
  // (waitid(WNOWAIT) would return the same zombie again).
  bool reapQueued_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Wait status as "exited N" / "killed by SIGNAME" for messages.
std::string describeWaitStatus(int status);

}  // namespace berth
