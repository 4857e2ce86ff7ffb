#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "common/asio.h"
#include "shim/exec_wait.h"

using namespace berth::shim;
using namespace std::chrono_literals;

namespace {

// A child that execs `program` (with argument "5") once a byte arrives on its
// pipe, or never when `program` is null; ended and reaped by the destructor.
struct Child {
  pid_t pid = -1;
  int release = -1;  // write end

  explicit Child(const char* program) {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      char byte;
      if (::read(p[0], &byte, 1) == 1 && program) ::execl(program, program, "5", nullptr);
      ::pause();
      ::_exit(127);
    }
    ::close(p[0]);
    release = p[1];
  }
  ~Child() {
    ::close(release);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  void go() { REQUIRE(::write(release, "x", 1) == 1); }
};

// Runs waitUntilExeced on a fresh loop, `after` being run 50 ms in.
bool waitOnLoop(pid_t pid, ExecutableId before, std::chrono::milliseconds deadline,
                std::function<void()> after = [] {}) {
  asio::io_context io;
  std::optional<bool> result;
  asio::steady_timer later(io, 50ms);
  later.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) after();  // not when the wait ended first (cancelled)
  });
  asio::co_spawn(io, waitUntilExeced(pid, before, deadline), [&](std::exception_ptr e, bool r) {
    if (e) std::rethrow_exception(e);
    result = r;
    later.cancel();
  });
  io.run_for(10s);
  REQUIRE(result.has_value());
  return *result;
}

ExecutableId fileId(const char* path) {
  struct stat st {};
  REQUIRE(::stat(path, &st) == 0);
  return {st.st_dev, st.st_ino};
}

}  // namespace

TEST_CASE("waitUntilExeced returns once the process runs another program") {
  Child c("/bin/sleep");
  auto before = executableOf(c.pid);
  REQUIRE(before.has_value());
  CHECK(*before == fileId("/proc/self/exe"));  // the fork still runs us
  auto start = std::chrono::steady_clock::now();
  CHECK(waitOnLoop(c.pid, *before, 5000ms, [&] { c.go(); }));
  CHECK(std::chrono::steady_clock::now() - start >= 50ms);  // not before the child was let go
  CHECK(executableOf(c.pid) == fileId("/bin/sleep"));
}

TEST_CASE("waitUntilExeced gives up at its deadline when the process never execs") {
  Child c(nullptr);
  auto before = executableOf(c.pid);
  REQUIRE(before.has_value());
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(waitOnLoop(c.pid, *before, 200ms, [&] { c.go(); }));
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  CHECK(executableOf(c.pid) == before);
}

TEST_CASE("waitUntilExeced counts a dead process as done, and executableOf a zombie as gone") {
  Child c(nullptr);
  auto before = executableOf(c.pid);
  REQUIRE(before.has_value());
  ::kill(c.pid, SIGKILL);
  siginfo_t info{};
  REQUIRE(::waitid(P_PID, c.pid, &info, WEXITED | WNOWAIT) == 0);  // a zombie, not reaped
  CHECK_FALSE(executableOf(c.pid).has_value());
  CHECK(waitOnLoop(c.pid, *before, 5000ms));
}
