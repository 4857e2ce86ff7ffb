#include "shim/daemonize.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/proc_stat.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

namespace berth::shim {

std::string pidWithStartTime(int pid) {
  // berthd trusts a pid file only with the start time (it tells a reused pid
  // from us), so a shim that cannot read its own does not start.
  auto stat = readProcStat(pid);
  if (!stat) throw internal("cannot read /proc/" + std::to_string(pid) + "/stat for the shim's pid file");
  return std::to_string(pid) + " " + std::to_string(stat->startTime);
}

ReadyNotice daemonize(const std::string& address, const std::string& logFile,
                      std::vector<int> keepFds, bool fork) {
  if (keepFds.empty()) throw internal("daemonize: no listener fd to keep");
  std::sort(keepFds.begin(), keepFds.end());
  int log = ::open(logFile.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (log < 0) throw systemError("open shim log " + logFile, errno);
  // The notice: a byte for the forking parent to wait on, or the address
  // line itself for a caller reading our stdout.
  int ready[2];
  std::string message = "\x01";
  if (fork) {
    if (::pipe2(ready, O_CLOEXEC) != 0) throw systemError("pipe2", errno);
  } else {
    // The caller's stdout becomes the ready channel; stdout itself is
    // pointed at the log below.
    std::fflush(stdout);
    ready[0] = -1;
    ready[1] = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
    if (ready[1] < 0) throw systemError("dup stdout", errno);
    message = address + "\n";
  }
  std::fflush(nullptr);
  // Fork before any loop or thread exists: the child owns nothing half-made.
  pid_t pid = fork ? ::fork() : 0;
  if (pid < 0) throw systemError("fork", errno);
  if (pid > 0) {
    // The parent's only job: once the child is ready, tell the caller where
    // we listen, then go.
    ::close(ready[1]);
    char byte;
    ssize_t n;
    do {
      n = ::read(ready[0], &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) {
      std::fprintf(stderr, "berth-shim: internal: the shim exited before it was ready; see %s\n",
                   logFile.c_str());
      ::_exit(1);
    }
    std::printf("%s\n", address.c_str());
    std::fflush(stdout);
    ::_exit(0);
  }
  if (ready[0] >= 0) ::close(ready[0]);
  // A new session: no controlling terminal, and berthd's process group
  // signals (a Ctrl-C on a foreground berthd) do not reach us. (Without the
  // fork berthd did it already; then this fails harmlessly.)
  ::setsid();
  // Do not pin any mount point (the state dir may be removed under us).
  if (::chdir("/") != 0) ::_exit(1);
  // stdio: nothing to read, everything to our log.
  int devnull = ::open("/dev/null", O_RDONLY);
  ::dup2(devnull, 0);
  ::dup2(log, 1);
  ::dup2(log, 2);
  // Close whatever berthd let us inherit; keep stdio, keepFds and the ready
  // pipe (moved just above the highest of them).
  for (int fd : {devnull, log}) {
    if (fd > 2) ::close(fd);
  }
  int readyFd = keepFds.back() + 1;
  if (ready[1] != readyFd) {
    // (fails only at the fd limit, with a hand-passed fd near it)
    if (::dup3(ready[1], readyFd, O_CLOEXEC) < 0) throw systemError("dup3 the ready pipe", errno);
    ::close(ready[1]);
  }
  int from = 3;
  for (int keep : keepFds) {
    if (keep > from) ::close_range(static_cast<unsigned>(from), static_cast<unsigned>(keep - 1), 0);
    from = std::max(from, keep + 1);
  }
  ::close_range(static_cast<unsigned>(readyFd + 1), ~0U, 0);
  // Every container process (init, execs and their orphans) reparents to
  // us, so we reap them and see their exits (runc create's child included).
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  return {readyFd, std::move(message)};
}

void notifyReady(const ReadyNotice& ready) {
  (void)!::write(ready.fd, ready.message.data(), ready.message.size());
  ::close(ready.fd);
}

}  // namespace berth::shim
