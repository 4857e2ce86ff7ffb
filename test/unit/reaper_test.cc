#include <catch2/catch.hpp>

#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "common/reaper.h"

using namespace berth;
using namespace std::chrono_literals;

namespace {

// A child with the given (free) pid: clone3's set_tid, root only. As fork:
// 0 in the child; -1 (errno set) when it cannot be done.
long cloneWithPid(pid_t pid) {
  pid_t tid = pid;
  clone_args args{};
  args.exit_signal = SIGCHLD;
  args.set_tid = reinterpret_cast<uint64_t>(&tid);
  args.set_tid_size = 1;
  return ::syscall(SYS_clone3, &args, sizeof(args));
}

pid_t childExiting(int code) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(code);
  REQUIRE(pid > 0);
  return pid;
}

// The state letter of /proc/PID/stat ('Z' for a zombie), or '-' once reaped.
char procState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return '-';
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

void waitZombie(pid_t pid) {
  for (int i = 0; i < 2000 && procState(pid) != 'Z'; ++i) ::usleep(1000);
  REQUIRE(procState(pid) == 'Z');
}

bool reaped(pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) < 0 && errno == ECHILD; }

// Runs the loop until `done` holds (at most 5 s).
void runUntil(asio::io_context& io, const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done() && std::chrono::steady_clock::now() < deadline) io.run_for(2ms);
  REQUIRE(done());
}

// A child that exited 4, reaped by the reaper on `io` and kept, nobody having
// claimed it; its pid, free again.
pid_t keptExit(asio::io_context& io) {
  pid_t pid = childExiting(4);
  waitZombie(pid);
  runUntil(io, [&] { return procState(pid) == '-'; });
  return pid;
}

}  // namespace

TEST_CASE("a deferred reap hands the exit out while the child is still a zombie") {
  asio::io_context io;
  Reaper reaper(io, ReapTiming::Deferred);
  pid_t pid = childExiting(3);
  std::optional<int> status;
  char stateAtExit = '?';
  reaper.watch(pid, [&](int st) {
    status = st;
    stateAtExit = procState(pid);
  });
  runUntil(io, [&] { return status.has_value(); });
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 3);
  CHECK(stateAtExit == 'Z');  // handed out before the reap
  runUntil(io, [&] { return procState(pid) == '-'; });
  CHECK(reaped(pid));
}

// A deferred reaper whose countdown the test holds (deferCountdown takes it),
// and a watched child that exited with CODE, its exit handed out.
struct HeldCountdown {
  asio::io_context io;
  Reaper reaper{io, ReapTiming::Deferred};
  std::function<void()> start;
  pid_t child;

  explicit HeldCountdown(int code) {
    reaper.deferCountdown = [this](std::function<void()> fn) {
      start = std::move(fn);
      return true;
    };
    child = childExiting(code);
    std::optional<int> status;
    reaper.watch(child, [&](int st) { status = st; });
    runUntil(io, [&] { return status.has_value(); });
    REQUIRE(start);
  }
};

TEST_CASE("a deferred reap waits for its countdown to be started when deferCountdown takes it") {
  HeldCountdown h(4);
  h.io.run_for(20ms);  // far past kReapDelay: still a zombie, the countdown has not started
  CHECK(procState(h.child) == 'Z');
  h.start();
  runUntil(h.io, [&] { return procState(h.child) == '-'; });
  CHECK(reaped(h.child));
}

TEST_CASE("another exit starts a countdown that deferCountdown was holding") {
  HeldCountdown h(6);
  h.io.run_for(5ms);
  REQUIRE(procState(h.child) == 'Z');
  pid_t orphan = childExiting(7);  // nobody watches it: it waits behind the zombie
  runUntil(h.io, [&] { return procState(h.child) == '-' && procState(orphan) == '-'; });
  CHECK(reaped(h.child));
  CHECK(reaped(orphan));
  h.start();  // a late call from the owner does nothing more
  h.io.run_for(5ms);
}

TEST_CASE("a deferred reap starts its countdown itself when deferCountdown declines") {
  asio::io_context io;
  Reaper reaper(io, ReapTiming::Deferred);
  int asked = 0;
  reaper.deferCountdown = [&](std::function<void()>) {
    ++asked;
    return false;
  };
  pid_t pid = childExiting(5);
  std::optional<int> status;
  reaper.watch(pid, [&](int st) { status = st; });
  runUntil(io, [&] { return status.has_value() && procState(pid) == '-'; });
  CHECK(asked == 1);
  CHECK(reaped(pid));
}

TEST_CASE("a registered exit behind a zombie awaiting its reap is handed out at once") {
  asio::io_context io;
  Reaper reaper(io, ReapTiming::Deferred);
  pid_t first = childExiting(1), second = childExiting(2);
  waitZombie(first);
  waitZombie(second);
  std::optional<int> firstStatus, secondStatus;
  char firstStateThen = '?';
  reaper.watch(first, [&](int st) { firstStatus = st; });
  reaper.watch(second, [&](int st) {
    secondStatus = st;
    firstStateThen = procState(first);
  });
  runUntil(io, [&] { return firstStatus && secondStatus; });
  CHECK(WEXITSTATUS(*firstStatus) == 1);
  CHECK(WEXITSTATUS(*secondStatus) == 2);
  // The second was found while the first still waited for its reap (by pid:
  // waitid(P_ALL, WNOWAIT) would have kept returning the first).
  CHECK(firstStateThen == 'Z');
  runUntil(io, [&] { return reaped(first) && reaped(second); });
}

TEST_CASE("an unclaimed exit is reaped at once and kept for a late watch") {
  asio::io_context io;
  Reaper reaper(io, ReapTiming::Deferred);
  pid_t pid = childExiting(4);
  waitZombie(pid);
  runUntil(io, [&] { return procState(pid) == '-'; });  // nobody waited: no deferral
  std::optional<int> status;
  reaper.watch(pid, [&](int st) { status = st; });
  REQUIRE(status.has_value());  // at once, from the kept exit
  CHECK(WEXITSTATUS(*status) == 4);
}

TEST_CASE("the reaper sees exits even when SIGCHLD was inherited as ignored") {
  // With SIGCHLD ignored the kernel reaps children itself, blocked or not;
  // the Reaper restores the default action.
  ::signal(SIGCHLD, SIG_IGN);
  asio::io_context io;
  Reaper reaper(io);
  pid_t pid = childExiting(5);
  std::optional<int> status;
  reaper.watch(pid, [&](int st) { status = st; });
  runUntil(io, [&] { return status.has_value(); });
  CHECK(WEXITSTATUS(*status) == 5);
}

TEST_CASE("a kept exit does not pass for a later process of the same pid") {
  asio::io_context io;
  Reaper reaper(io, ReapTiming::Deferred);
  pid_t pid = keptExit(io);
  // The pid used again, by a child of ours (clone3's set_tid: root only).
  long again = cloneWithPid(pid);
  if (again == 0) {
    ::usleep(100000);
    ::_exit(9);
  }
  if (again < 0) {
    WARN("clone3 with set_tid " << pid << ": " << std::strerror(errno) << "; not tested");
    return;
  }
  REQUIRE(again == pid);
  std::optional<int> status;
  reaper.watch(pid, [&](int st) { status = st; });
  CHECK_FALSE(status.has_value());  // not the earlier process's exit
  runUntil(io, [&] { return status.has_value(); });
  CHECK(WEXITSTATUS(*status) == 9);
  runUntil(io, [&] { return procState(pid) == '-'; });
}

TEST_CASE("a kept exit does not pass for a later process of the same pid that is not ours yet") {
  // As an init whose runc create is still exiting: a grandchild we adopt
  // (as its subreaper) only when its parent exits.
  asio::io_context io;
  Reaper reaper(io, ReapTiming::Deferred);
  pid_t pid = keptExit(io);
  REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  int toParent[2], go[2];
  REQUIRE(::pipe(toParent) == 0);
  REQUIRE(::pipe(go) == 0);
  pid_t runtime = ::fork();
  if (runtime == 0) {
    // The "runtime": makes the grandchild with the freed pid, then waits.
    ::close(toParent[0]);
    ::close(go[1]);
    long made = cloneWithPid(pid);
    if (made == 0) {
      char c;
      while (::read(go[0], &c, 1) > 0) {
      }
      ::_exit(9);
    }
    pid_t report = made < 0 ? -errno : static_cast<pid_t>(made);
    (void)!::write(toParent[1], &report, sizeof report);
    char c;
    while (::read(go[0], &c, 1) > 0) {
    }
    ::_exit(0);
  }
  ::close(toParent[1]);
  ::close(go[0]);
  pid_t again = 0;
  REQUIRE(::read(toParent[0], &again, sizeof again) == sizeof again);
  ::close(toParent[0]);
  std::optional<int> status;
  if (again == pid) {
    reaper.watch(pid, [&](int st) { status = st; });
    CHECK_FALSE(status.has_value());  // not the earlier process's exit
  } else {
    WARN("clone3 with set_tid " << pid << ": " << std::strerror(-again) << "; not tested");
  }
  ::close(go[1]);  // both exit; the grandchild's exit reaches us once it is ours
  if (again == pid) {
    runUntil(io, [&] { return status.has_value(); });
    REQUIRE(status.has_value());
    CHECK(WEXITSTATUS(*status) == 9);
  }
  runUntil(io, [&] { return procState(runtime) == '-' && procState(pid) == '-'; });
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}
