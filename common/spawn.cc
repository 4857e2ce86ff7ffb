#include "common/spawn.h"

#include "common/errors.h"
#include "common/quiet_timers.h"
#include "common/unique_fd.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>

extern char** environ;

namespace berth {

namespace {
// In the vforked child: only async-signal-safe calls, no allocation.
[[noreturn]] void childExec(const SpawnOptions& o, char* const* argv, char* const* envp,
                            int devnull, int errPipe, pid_t parent) {
  // Handlers back to the default first, then unblocked (as posix_spawn
  // does): a signal in between would run the parent's handler here, in a
  // child that shares its memory.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  if (o.newSession) ::setsid();
  // Move every fd we hand on above the target range first, so dup2 into
  // 0..2+extra never clobbers a source that is still needed.
  int n = 3 + static_cast<int>(o.extraFds.size());
  int src[64];
  src[0] = o.stdinFd >= 0 ? o.stdinFd : devnull;
  src[1] = o.stdoutFd >= 0 ? o.stdoutFd : devnull;
  src[2] = o.stderrFd >= 0 ? o.stderrFd : (o.stderrFd == kStderrToStdout && o.stdoutFd >= 0 ? o.stdoutFd : devnull);
  for (size_t i = 0; i < o.extraFds.size() && i + 3 < 64; ++i) src[i + 3] = o.extraFds[i];
  // Above every source fd: a fixed base (it was 1000) clobbers a source that
  // sits in base..base+n, e.g. the stdout pipe once berthd holds ~1,000 shim
  // connections, and the child's stdout silently becomes another fd.
  int base = errPipe > devnull ? errPipe : devnull;
  base = o.execFd > base ? o.execFd : base;
  for (int i = 0; i < n; ++i) base = src[i] > base ? src[i] : base;
  base += 1;
  for (int i = 0; i < n; ++i) {
    if (::dup2(src[i], base + i) < 0) goto fail;
  }
  if (::dup2(errPipe, base + n) < 0) goto fail;
  errPipe = base + n;
  // The executable's fd, if any, right above the error pipe; both close on
  // exec (an ELF's fd is not needed once it runs).
  if (o.execFd >= 0 && ::dup3(o.execFd, errPipe + 1, O_CLOEXEC) < 0) goto fail;
  for (int i = 0; i < n; ++i) {
    if (::dup2(base + i, i) < 0) goto fail;
  }
  ::fcntl(errPipe, F_SETFD, FD_CLOEXEC);
  // Close everything else but those two.
  if (::close_range(n, errPipe - 1, 0) != 0) goto fail;
  ::close_range(errPipe + (o.execFd >= 0 ? 2 : 1), ~0U, 0);
  if (o.dieWithUs) {
    // Kept across the exec. A parent that died before the prctl left us
    // reparented already: nobody would kill us then, so go now.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) goto fail;
    if (::getppid() != parent) ::_exit(127);
  }
  if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) goto fail;
  if (o.execFd >= 0) {
    ::execveat(errPipe + 1, "", argv, envp, AT_EMPTY_PATH);
  } else if (std::strchr(argv[0], '/')) {
    ::execve(argv[0], argv, envp);
  } else {
    ::execvpe(argv[0], argv, envp);
  }
fail:
  int err = errno;
  (void)!::write(errPipe, &err, sizeof(err));
  ::_exit(127);
}
// vfork in a frame of its own: the child never returns from it (it execs or
// _exits), so nothing of the caller's can be clobbered; keeping the call out
// of spawnProcess also keeps gcc's -Wclobbered quiet there.
[[gnu::noinline]] pid_t vforkExec(const SpawnOptions& o, char* const* argv, char* const* envp,
                                  int devnull, int errPipe) {
  pid_t parent = ::getpid();
  pid_t pid = ::vfork();
  if (pid == 0) childExec(o, argv, envp, devnull, errPipe, parent);
  return pid;
}
}  // namespace

pid_t spawnProcess(const SpawnOptions& o) {
  if (o.argv.empty()) throw invalidArgument("spawn: empty argv");
  if (o.extraFds.size() > 60) throw invalidArgument("spawn: too many fds");
  std::vector<char*> argv;
  for (auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envv;
  for (auto& e : o.env) envv.push_back(const_cast<char*>(e.c_str()));
  envv.push_back(nullptr);
  // Assigned once: nothing vfork's child could see half-changed.
  char* const* const envp = o.env.empty() ? environ : envv.data();
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (devnull.fd < 0) throw systemError("open /dev/null", errno);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw systemError("pipe2", errno);
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t pid = vforkExec(o, argv.data(), envp, devnull.fd, wr.fd);
  if (pid < 0) throw systemError("vfork for " + o.argv[0], errno);
  wr.reset();
  int err = 0;
  ssize_t n;
  do {
    n = ::read(rd.fd, &err, sizeof(err));
  } while (n < 0 && errno == EINTR);
  if (n == sizeof(err)) {
    // The child failed before exec and exits 127; the caller's reaper gets it.
    throw ExecFailed(systemError("exec " + o.argv[0] + (o.execFd >= 0 ? " (its fd)" : ""), err), pid, err);
  }
  return pid;
}

bool CommandResult::ok() const {
  return exitPending || (!timedOut && WIFEXITED(waitStatus) && WEXITSTATUS(waitStatus) == 0);
}

namespace {

// A pipe for the child's stdout: `options.stdoutFd` gets the write end (close
// it once the child is spawned), `read` is ours.
struct StdoutPipe {
  asio::posix::stream_descriptor read;
  UniqueFd write;
  StdoutPipe(const asio::any_io_executor& executor, SpawnOptions& options) : read(executor) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw systemError("pipe2", errno);
    write.fd = p[1];
    read.assign(p[0]);
    options.stdoutFd = p[1];
  }
};

// SIGKILLs `pid` if it still runs at the deadline: not once its exit is in
// (it may be reaped while its output is still read, and the pid another's).
class KillAtDeadline {
 public:
  KillAtDeadline(const asio::any_io_executor& executor, pid_t pid,
                 std::shared_ptr<const Reaper::Expected> exited, std::chrono::milliseconds deadline)
      : KillAtDeadline(executor, pid, [exited = std::move(exited)] { return exited->exited(); }, deadline) {}
  KillAtDeadline(const asio::any_io_executor& executor, pid_t pid, std::function<bool()> exited,
                 std::chrono::milliseconds deadline)
      : timer_(executor, deadline), io_(static_cast<asio::io_context&>(executor.context())) {
    timer_.async_wait([pid, exited = std::move(exited), fired = fired_](const boost::system::error_code& ec) {
      if (ec || exited()) return;
      *fired = true;
      ::kill(pid, SIGKILL);
    });
  }
  ~KillAtDeadline() {
    timer_.cancel();
    settleTimerfd(io_);
  }
  KillAtDeadline(const KillAtDeadline&) = delete;
  KillAtDeadline& operator=(const KillAtDeadline&) = delete;
  bool fired() const { return *fired_; }

 private:
  std::shared_ptr<bool> fired_ = std::make_shared<bool>(false);
  asio::steady_timer timer_;
  asio::io_context& io_;
};

}  // namespace

asio::awaitable<CommandResult> runCommand(Reaper& reaper, SpawnOptions options,
                                          std::chrono::milliseconds deadline,
                                          bool captureStdout) {
  auto executor = co_await asio::this_coro::executor;
  CommandResult result;
  std::optional<StdoutPipe> out;
  if (captureStdout) out.emplace(executor, options);
  if (options.stderrFd == kStderrToStdout) options.stderrFd = options.stdoutFd;
  pid_t pid = spawnProcess(options);
  auto exited = reaper.expect(pid);
  if (out) out->write.reset();
  KillAtDeadline killer(executor, pid, exited, deadline);
  if (out) {
    // Read to EOF first: a child blocked on a full pipe would never exit.
    boost::system::error_code ec;
    co_await asio::async_read(out->read, asio::dynamic_buffer(result.out),
                              asio::redirect_error(asio::use_awaitable, ec));
  }
  result.waitStatus = co_await exited->wait();
  result.timedOut = killer.fired();
  co_return result;
}

asio::awaitable<CommandResult> runCommandUntil(Reaper& reaper, SpawnOptions options,
                                               std::chrono::milliseconds deadline,
                                               std::shared_ptr<DoneSignal> finished,
                                               std::function<void(pid_t, int)> lateExit) {
  auto executor = co_await asio::this_coro::executor;
  struct Outcome {
    bool exited = false;
    bool returned = false;  // the caller went on before the exit
    int status = 0;
  };
  auto outcome = std::make_shared<Outcome>();
  if (options.stderrFd == kStderrToStdout) options.stderrFd = options.stdoutFd;
  pid_t pid = spawnProcess(options);
  // (registered before the loop runs again: see Reaper::expect)
  reaper.watch(pid, [outcome, finished, pid, lateExit = std::move(lateExit)](int status) {
    outcome->exited = true;
    outcome->status = status;
    if (outcome->returned) {
      lateExit(pid, status);
    } else {
      finished->set();
    }
  });
  KillAtDeadline killer(executor, pid, [outcome] { return outcome->exited; }, deadline);
  co_await finished->wait();
  CommandResult result;
  if (outcome->exited) {
    result.waitStatus = outcome->status;
    result.timedOut = killer.fired();
  } else {
    outcome->returned = true;
    result.exitPending = true;
  }
  co_return result;
}

asio::awaitable<StartedProcess> startUntilLine(Reaper& reaper, SpawnOptions options,
                                               std::chrono::milliseconds deadline) {
  auto executor = co_await asio::this_coro::executor;
  StdoutPipe out(executor, options);
  if (options.stderrFd == kStderrToStdout) options.stderrFd = options.stdoutFd;
  StartedProcess started;
  started.pid = spawnProcess(options);
  auto exited = reaper.expect(started.pid);
  out.write.reset();
  KillAtDeadline killer(executor, started.pid, exited, deadline);
  std::string buffer;
  boost::system::error_code ec;
  size_t n = co_await asio::async_read_until(out.read, asio::dynamic_buffer(buffer), '\n',
                                             asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && n > 0 && !killer.fired()) {
    started.line = buffer.substr(0, n - 1);
    co_return started;  // it runs on; its exit is only reaped
  }
  started.waitStatus = co_await exited->wait();
  started.timedOut = killer.fired();
  co_return started;
}

}  // namespace berth
