// The one place that calls waitpid: one SIGCHLD handler reaps every child
// and hands each (pid, status) to its owner.
//
// SIGCHLD is blocked and read from a signalfd in the loop: no signal frame,
// handler and self-pipe between a child's exit and its reap. spawnProcess
// unblocks it in every child it starts. The process must have no other
// threads (a thread that left SIGCHLD unblocked would take it).
//
// An exit is handed over before it is reaped: waitid(WNOWAIT) reads it and
// the owner's callback runs; the reap itself comes kReapDelay later, once the
// exit's event has left and its readers had the CPU. Reaping a container's
// init drops its /proc dentries in every proc mount, ~90 us on the reference
// machine; done at once it delayed the event, and done right after the send
// it still held the CPU the woken berthd had been placed on. Meanwhile the pid
// stays a zombie, so it cannot be reused, and the exits of registered
// children are still handed out at once (looked up by pid); only unclaimed
// ones queued behind a zombie wait for its reap.
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
#include <chrono>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace berth {

class Reaper {
 public:
  using Callback = std::function<void(int waitStatus)>;

  explicit Reaper(asio::io_context& io);
  ~Reaper();

  // Calls `onExit` once `pid` has exited (at once if it already did).
  void watch(pid_t pid, Callback onExit);
  // Forgets a registration (the owner lost interest; the exit will be kept).
  void unwatch(pid_t pid);
  // Waits for `pid`'s exit from a coroutine.
  asio::awaitable<int> wait(pid_t pid);

  // Exits that nobody registered for (orphans reparented to us); optional.
  std::function<void(pid_t, int)> onUnclaimed;

  // Hands out every exit not handed out yet (the SIGCHLD handler does this).
  void reapAll();

  static constexpr std::chrono::milliseconds kReapDelay{1};

 private:
  void arm();
  void dispatch(pid_t pid, int status);
  // Reaps the handed-out zombies, then looks for exits queued behind them.
  void reapHandedOut();

  asio::posix::stream_descriptor sigchld_;  // the signalfd
  std::unordered_map<pid_t, Callback> owners_;
  // Unclaimed exits, kept for a late registration; bounded so orphans that
  // nobody will ever ask about cannot grow it without limit.
  std::unordered_map<pid_t, int> kept_;
  std::deque<pid_t> keptOrder_;
  // Exits handed out but not reaped yet, and the timer that reaps them.
  std::unordered_set<pid_t> handedOut_;
  asio::steady_timer reapTimer_;
  bool reapArmed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Wait status as "exited N" / "killed by SIGNAME" for messages.
std::string describeWaitStatus(int status);

}  // namespace berth
