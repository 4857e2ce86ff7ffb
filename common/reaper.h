// The one place that calls waitpid: one SIGCHLD handler reaps every child
// and hands each (pid, status) to its owner.
//
// SIGCHLD is blocked and read from a signalfd in the loop: no signal frame,
// handler and self-pipe between a child's exit and its reap. spawnProcess
// unblocks it in every child it starts. Any other thread of the process must
// keep it blocked too (one that left SIGCHLD unblocked would take it):
// berthd's record writer (manager/off_loop.cc) starts with every signal
// blocked.
//
// An exit is handed over before it is reaped: waitid(WNOWAIT) reads it and
// the owner's callback runs. With ReapTiming::Deferred (the shim) a
// registered child's zombie is reaped kReapDelay after a countdown that
// starts once the exit's event has left (deferCountdown: in the shim, when
// berthd acknowledges it) and its readers had the CPU: reaping a container's init
// drops its /proc dentries in every proc mount, ~90 us on the reference
// machine; done at once it delayed the event, and done right after the send
// it still held the CPU the woken berthd had been placed on. Meanwhile the pid
// stays a zombie, so it cannot be reused; registered children whose exits
// queue behind it are found by pid, unclaimed ones wait for its reap.
// Unclaimed exits are reaped at once (their status is kept, see below), and
// with ReapTiming::Immediate (berthd, with a child per shim) every exit is.
//
// Owners register right after fork, before the loop runs again, so a runc
// invocation can never lose its exit (runCommand, startUntilLine). A process
// we learn of later (the container's init, whose pid comes from runc's pid
// file after it may already have died) finds its exit kept here and gets it
// on registration.
#pragma once

#include "common/asio.h"
#include "common/done_signal.h"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>

namespace berth {

enum class ReapTiming { Immediate, Deferred };

class Reaper {
 public:
  using Callback = std::function<void(int waitStatus)>;

  explicit Reaper(asio::io_context& io, ReapTiming timing = ReapTiming::Immediate);
  ~Reaper();

  // Calls `onExit` once `pid` has exited (at once if it already did). A kept
  // exit is handed over only if no process has that pid now: if one has (a
  // child of ours, or a process we adopt later, such as an init whose runc
  // is still exiting), the kept exit was an earlier process's, an orphan's
  // reaped before its pid was reused, and is dropped.
  void watch(pid_t pid, Callback onExit);
  // Forgets a registration (the owner lost interest; the exit will be kept).
  void unwatch(pid_t pid);
  // A child's exit, registered for when expect() is called and awaited later.
  class Expected {
   public:
    explicit Expected(const asio::any_io_executor& loop) : done_(loop) {}
    bool exited() const { return done_.done(); }
    // Its wait status (at once if it already exited); resumes from the loop,
    // never from inside reapAll().
    asio::awaitable<int> wait() {
      co_await done_.wait();
      co_return status_;
    }

   private:
    friend class Reaper;
    DoneSignal done_;
    int status_ = 0;
  };
  // Registers for `pid`'s exit now: for a child just spawned, before the loop
  // runs again, so that its exit can be neither kept for someone else nor
  // mistaken for an earlier process's (see watch).
  std::shared_ptr<Expected> expect(pid_t pid);

  // Exits that nobody registered for (orphans reparented to us); optional.
  std::function<void(pid_t, int)> onUnclaimed;

  // Deferred timing only, optional: given the function that starts the
  // kReapDelay countdown to the reap of exits just handed out, it returns true
  // if it will call it later, false to have it called now (from a posted
  // handler). The shim starts it once the exit's event is acknowledged:
  // arming the timer is a timerfd_settime (15-25 us on the reference VM), and
  // right after the event's send it held the CPU berthd had been woken on.
  // Another exit while the countdown waits starts it at once, so orphans
  // queued behind the zombie wait at most kReapDelay.
  std::function<bool(std::function<void()> startCountdown)> deferCountdown;

  // Hands out every exit not handed out yet (the SIGCHLD handler does this).
  void reapAll();

  static constexpr std::chrono::milliseconds kReapDelay{1};

 private:
  void arm();
  // Gives the exit to its owner (or keeps it), and reaps it now or later.
  void handOut(pid_t pid, int status);
  void dispatch(pid_t pid, int status);
  void armDeferredReap();
  void startCountdownSoon();  // from a posted handler
  void startReapTimer();
  // Reaps the handed-out zombies, then looks for exits queued behind them.
  void reapHandedOut();

  asio::posix::stream_descriptor sigchld_;  // the signalfd
  std::unordered_map<pid_t, Callback> owners_;
  // Unclaimed exits, kept for a late registration; bounded so orphans that
  // nobody will ever ask about cannot grow it without limit.
  std::unordered_map<pid_t, int> kept_;
  std::deque<pid_t> keptOrder_;
  ReapTiming timing_;
  // Exits handed out but not reaped yet (pid -> status), and the timer that
  // reaps them.
  std::unordered_map<pid_t, int> handedOut_;
  asio::steady_timer reapTimer_;
  bool reapArmed_ = false;
  // The countdown waits for deferCountdown's call; the generation tells a
  // late call from an earlier round.
  bool countdownDeferred_ = false;
  uint64_t countdownGen_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Wait status as "exited N" / "killed by SIGNAME" for messages.
std::string describeWaitStatus(int status);

}  // namespace berth
