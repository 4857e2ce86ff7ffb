#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>

#include "common/reaper.h"
#include "common/sealed_copy.h"
#include "common/spawn.h"

using namespace berth;
using namespace std::chrono_literals;

namespace {

// Runs `body` as a coroutine on a fresh loop until it returns (at most 10 s).
template <typename T, typename F>
T runOnLoop(F body) {
  asio::io_context io;
  Reaper reaper(io);
  std::optional<T> result;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { result = co_await body(reaper); },
                 [&io](std::exception_ptr e) {
                   io.stop();
                   if (e) std::rethrow_exception(e);
                 });
  io.run_for(10s);
  REQUIRE(result.has_value());
  return *result;
}

SpawnOptions shell(const char* script) {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", script};
  return o;
}

}  // namespace

TEST_CASE("runCommand kills a command at its deadline") {
  auto start = std::chrono::steady_clock::now();
  auto r = runOnLoop<CommandResult>([](Reaper& reaper) {
    return runCommand(reaper, shell("exec sleep 5"), 200ms, true);
  });
  CHECK(r.timedOut);
  CHECK(WIFSIGNALED(r.waitStatus));
  CHECK(WTERMSIG(r.waitStatus) == SIGKILL);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("startUntilLine returns the first line while the process runs on") {
  auto r = runOnLoop<StartedProcess>([](Reaper& reaper) {
    return startUntilLine(reaper, shell("echo ready; exec sleep 0.3"), 5s);
  });
  CHECK(r.line == "ready");
  CHECK_FALSE(r.timedOut);
  CHECK(::kill(r.pid, 0) == 0);  // still running after its line
  ::kill(r.pid, SIGKILL);        // ours to end (the test's loop is gone)
  ::waitpid(r.pid, nullptr, 0);
}

TEST_CASE("startUntilLine reports a process that ends without a line") {
  auto r = runOnLoop<StartedProcess>([](Reaper& reaper) {
    return startUntilLine(reaper, shell("exit 3"), 5s);
  });
  CHECK(r.line.empty());
  CHECK_FALSE(r.timedOut);
  CHECK(WIFEXITED(r.waitStatus));
  CHECK(WEXITSTATUS(r.waitStatus) == 3);
}

TEST_CASE("startUntilLine keeps the deadline for a process that closed stdout without a line") {
  auto start = std::chrono::steady_clock::now();
  auto r = runOnLoop<StartedProcess>([](Reaper& reaper) {
    return startUntilLine(reaper, shell("exec >&-; exec sleep 5"), 200ms);
  });
  CHECK(r.line.empty());
  CHECK(r.timedOut);
  CHECK(WIFSIGNALED(r.waitStatus));
  CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("a spawn through execFd hands on only stdio and extraFds") {
  SealedCopy ls = makeSealedCopy("/bin/ls");
  int extra = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto r = runOnLoop<CommandResult>([&](Reaper& reaper) {
    SpawnOptions o;
    o.argv = {"ls", "/proc/self/fd"};
    o.execFd = ls.fd;
    o.extraFds = {extra};
    return runCommand(reaper, o, 5s, true);
  });
  ::close(extra);
  ::close(ls.fd);
  CHECK(r.ok());
  // 0-2, the extra fd as 3, and ls's own directory fd: no copy, no error pipe
  CHECK(r.out == "0\n1\n2\n3\n4\n");
}

TEST_CASE("a failed exec throws ExecFailed") {
  SpawnOptions o;
  o.argv = {"/no/such/binary"};
  pid_t child = 0;
  int err = 0;
  try {
    spawnProcess(o);
  } catch (const ExecFailed& e) {
    child = e.pid;
    err = e.err;
  }
  REQUIRE(child > 0);
  CHECK(err == ENOENT);
  int status = 0;  // it exits 127
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 127));
}

namespace {

// A `sleep 30` spawned by a process of its own that exits right after:
// returns the sleep's pid (-1 if the spawn failed).
pid_t sleepOfADeadParent(bool dieWithUs) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  pid_t parent = ::fork();
  REQUIRE(parent >= 0);
  if (parent == 0) {
    ::close(p[0]);
    SpawnOptions o;
    o.argv = {"/bin/sleep", "30"};
    o.dieWithUs = dieWithUs;
    pid_t pid = -1;
    try {
      pid = spawnProcess(o);
    } catch (...) {
    }
    (void)!::write(p[1], &pid, sizeof(pid));
    ::_exit(0);
  }
  ::close(p[1]);
  pid_t pid = -1;
  CHECK(::read(p[0], &pid, sizeof(pid)) == sizeof(pid));
  ::close(p[0]);
  ::waitpid(parent, nullptr, 0);
  return pid;
}

// Dead: gone, or a zombie its new parent has not reaped yet.
bool deadWithin(pid_t pid, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  do {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    auto close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z') return true;
    ::usleep(10000);
  } while (std::chrono::steady_clock::now() < end);
  return false;
}

}  // namespace

TEST_CASE("dieWithUs: the child is SIGKILLed when its spawner dies") {
  pid_t kept = sleepOfADeadParent(false);
  pid_t ended = sleepOfADeadParent(true);
  REQUIRE(kept > 0);
  REQUIRE(ended > 0);
  bool endedDied = deadWithin(ended, 2s);
  bool keptDied = deadWithin(kept, 200ms);
  CHECK(endedDied);
  CHECK_FALSE(keptDied);  // (without dieWithUs: so the check above can fail)
  // Only what still runs: a dead one's pid may be another's by now.
  if (!keptDied) ::kill(kept, SIGKILL);
  if (!endedDied) ::kill(ended, SIGKILL);
}
