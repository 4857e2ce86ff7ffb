#include "common/reaper.h"

#include "common/errors.h"
#include "common/log.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace berth {

namespace {

constexpr size_t kKeptExits = 4096;

int openSigchldFd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  // The default action, not an inherited SIG_IGN: with SIGCHLD ignored the
  // kernel reaps children itself, blocked or not, and waitid sees none.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  if (::sigaction(SIGCHLD, &dfl, nullptr) != 0) throw systemError("sigaction SIGCHLD", errno);
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) throw systemError("block SIGCHLD", errno);
  int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw systemError("signalfd SIGCHLD", errno);
  return fd;
}

void reapNow(pid_t pid) {
  int status;
  while (::waitpid(pid, &status, WNOHANG) < 0 && errno == EINTR) {
  }
}

// waitid's siginfo as the status word waitpid would have given.
int waitStatusOf(const siginfo_t& si) {
  switch (si.si_code) {
    case CLD_EXITED: return (si.si_status & 0xff) << 8;
    case CLD_DUMPED: return (si.si_status & 0x7f) | 0x80;
    default: return si.si_status & 0x7f;  // CLD_KILLED
  }
}

// The exit of `idtype`/`id` without reaping it; nullopt if none (yet).
std::optional<siginfo_t> peekExit(idtype_t idtype, id_t id) {
  for (;;) {
    siginfo_t si{};
    if (::waitid(idtype, id, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
      if (si.si_pid == 0) return std::nullopt;  // children left, none exited
      return si;
    }
    if (errno != EINTR) return std::nullopt;  // ECHILD
  }
}

}  // namespace

Reaper::Reaper(asio::io_context& io, ReapTiming timing)
    : sigchld_(io, openSigchldFd()), timing_(timing), reapTimer_(io) {
  arm();
  // Children that died before we were made: their SIGCHLD may be long gone.
  asio::post(io, [this, alive = alive_] {
    if (*alive) reapAll();
  });
}

Reaper::~Reaper() {
  *alive_ = false;
  for (const auto& [pid, status] : handedOut_) reapNow(pid);
}

void Reaper::arm() {
  sigchld_.async_wait(asio::posix::stream_descriptor::wait_read,
                      [this, alive = alive_](const boost::system::error_code& ec) {
                        if (ec || !*alive) return;
                        // Drain: one read per pending SIGCHLD (they merge anyway);
                        // reapAll finds every exit, whichever signal told of it.
                        signalfd_siginfo info[8];
                        while (::read(sigchld_.native_handle(), info, sizeof info) > 0) {
                        }
                        reapAll();
                        arm();
                      });
}

void Reaper::reapAll() {
  bool hidden = false;
  while (auto si = peekExit(P_ALL, 0)) {
    if (handedOut_.count(si->si_pid)) {
      hidden = true;  // the kernel's first zombie waits for its deferred reap
      break;
    }
    handOut(si->si_pid, waitStatusOf(*si));
  }
  if (hidden) {
    // Registered children whose exits queue behind it: by pid.
    std::vector<pid_t> pids;
    for (const auto& entry : owners_) pids.push_back(entry.first);
    for (pid_t pid : pids) {
      if (!owners_.count(pid)) continue;  // an earlier callback unwatched it
      if (auto si = peekExit(P_PID, static_cast<id_t>(pid))) handOut(pid, waitStatusOf(*si));
    }
  }
  if (!handedOut_.empty()) armDeferredReap();
}

void Reaper::handOut(pid_t pid, int status) {
  bool defer = timing_ == ReapTiming::Deferred && owners_.count(pid);
  if (defer) handedOut_[pid] = status;
  dispatch(pid, status);
  if (!defer) reapNow(pid);
}

void Reaper::armDeferredReap() {
  if (reapArmed_) {
    if (countdownDeferred_) startCountdownSoon();  // another exit: see deferCountdown
    return;
  }
  reapArmed_ = true;
  uint64_t gen = ++countdownGen_;
  auto start = [this, alive = alive_, gen] {
    if (*alive && countdownDeferred_ && gen == countdownGen_) startCountdownSoon();
  };
  countdownDeferred_ = true;
  if (deferCountdown && deferCountdown(start)) return;
  startCountdownSoon();
}

void Reaper::startCountdownSoon() {
  countdownDeferred_ = false;
  // Armed from a posted handler, behind the writes the callbacks queued:
  // arming a timer is a timerfd_settime, 15-25 us on the reference VM.
  asio::post(reapTimer_.get_executor(), [this, alive = alive_] {
    if (*alive) startReapTimer();
  });
}

void Reaper::startReapTimer() {
  reapTimer_.expires_after(kReapDelay);
  reapTimer_.async_wait([this, alive = alive_](const boost::system::error_code&) {
    if (!*alive) return;
    reapArmed_ = false;
    reapHandedOut();
  });
}

void Reaper::reapHandedOut() {
  for (const auto& [pid, status] : std::exchange(handedOut_, {})) reapNow(pid);
  reapAll();  // exits that waited behind those zombies
}

void Reaper::dispatch(pid_t pid, int status) {
  auto it = owners_.find(pid);
  if (it != owners_.end()) {
    Callback cb = std::move(it->second);
    owners_.erase(it);
    cb(status);
    return;
  }
  if (onUnclaimed) onUnclaimed(pid, status);
  if (kept_.count(pid)) std::erase(keptOrder_, pid);  // (a reused pid's older exit)
  kept_[pid] = status;
  keptOrder_.push_back(pid);
  if (keptOrder_.size() > kKeptExits) {
    kept_.erase(keptOrder_.front());
    keptOrder_.pop_front();
  }
}

void Reaper::watch(pid_t pid, Callback onExit) {
  if (auto out = handedOut_.find(pid); out != handedOut_.end()) {
    onExit(out->second);  // exited, handed out, its reap still to come
    return;
  }
  auto it = kept_.find(pid);
  if (it != kept_.end()) {
    int status = it->second;
    kept_.erase(it);
    std::erase(keptOrder_, pid);
    // The kept exit was reaped: if any process has the pid now (a child of
    // ours, or one that is not ours yet: an init still runc's child, which
    // we adopt when runc exits), it is a later process.
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
      onExit(status);
      return;
    }
    BERTH_LOG(debug) << "pid " << pid << " was reused: an earlier process's exit is dropped";
  }
  owners_[pid] = std::move(onExit);
}

void Reaper::unwatch(pid_t pid) { owners_.erase(pid); }

std::shared_ptr<Reaper::Expected> Reaper::expect(pid_t pid) {
  auto expected = std::make_shared<Expected>(sigchld_.get_executor());
  watch(pid, [expected](int status) {
    expected->status_ = status;
    expected->done_.set();  // (its waiter resumes from the timer's handler, on the loop)
  });
  return expected;
}

std::string describeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("killed by ") + sigabbrev_np(WTERMSIG(status));
  }
  return "status " + std::to_string(status);
}

}  // namespace berth
