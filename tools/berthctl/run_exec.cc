// `run` and `exec`: create/add the process with IO on private FIFOs, start it,
// forward its output to ours (and, with --tty, our terminal and its window
// size) until it exits, and exit with its status. Without --tty a stdin that
// is a pipe or a file is forwarded too, its EOF closing the process's (as
// `ctr run` does); a terminal or /dev/null gives the process /dev/null (as
// before, and no read of a terminal a background job would be stopped for).
// Everything runs on the one Asio loop.
#include "tools/berthctl/commands.h"

#include "tools/berthctl/tty.h"

#include "common/ids.h"
#include "common/unique_fd.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

namespace berthctl {

namespace {

// After the process exited, give up waiting for the FIFOs' EOF once no data
// came for this long (a writer that never closes must not hang us).
constexpr auto kDrainQuiet = std::chrono::seconds(2);

int openOrThrow(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw berth::systemError("open " + path, errno);
  return fd;
}

// Writes all of DATA to FD (blocking, also when FD was made non-blocking by
// someone else). False once the reader went away: the rest is dropped.
bool writeAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);
    } else {
      return false;
    }
  }
  return true;
}

// Where the FIFO dir goes: $TMPDIR when the user set it, else a RAM
// filesystem ($XDG_RUNTIME_DIR, /dev/shm) when there is one, else /tmp. The
// FIFOs live only as long as the command; on ext4 making and removing them
// costs 0.7 ms of a 40 ms `run --rm`, on tmpfs 20 us.
std::string fifoParent() {
  // (Made absolute: the paths go to the shim, whose working dir is /.)
  if (const char* dir = std::getenv("TMPDIR"); dir && *dir) return absolutePath(dir);
  if (const char* dir = std::getenv("XDG_RUNTIME_DIR"); dir && *dir && ::access(dir, W_OK | X_OK) == 0) {
    return absolutePath(dir);
  }
  struct statfs fs {};
  if (::statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_MAGIC && ::access("/dev/shm", W_OK | X_OK) == 0) {
    return "/dev/shm";
  }
  return "/tmp";
}

// The size of our terminal (stdin's, else stdout's), if we have one.
using WindowSize = std::pair<uint32_t, uint32_t>;  // width, height
std::optional<WindowSize> ourWindowSize() {
  auto size = windowSize(0);
  return size ? size : windowSize(1);
}

// A resize of a process's pty to `size` (its task set by whoever sends it).
auto resizeRequest(Client& c, const std::string& execId, WindowSize size) {
  auto req = c.api().resizePtyRequest();
  req.setExecId(execId);
  req.initSize().setWidth(size.first);
  req.getSize().setHeight(size.second);
  return req;
}

// Without --tty, our stdin is forwarded only when it is data: a pipe, a
// file or a socket. A terminal or /dev/null (`run --rm … </dev/null` in
// scripts) leaves the process /dev/null, with no FIFO, copy or close-stdin.
bool stdinIsData() {
  struct stat st {};
  if (::fstat(0, &st) != 0) return false;
  return S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode);
}

// Our stdin for the copy: a pipe reopened (a file description of our own, so
// the O_NONBLOCK Asio sets is not the shell's too), anything else dup'ed (a
// file keeps its offset).
int openOurStdin() {
  struct stat st {};
  if (::fstat(0, &st) == 0 && S_ISFIFO(st.st_mode)) {
    // O_NONBLOCK: opening a pipe whose writer already left would block.
    int fd = ::open("/proc/self/fd/0", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) return fd;
  }
  int fd = ::dup(0);
  if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

// A private directory (0700) holding one process's FIFOs (0600).
class FifoDir {
 public:
  FifoDir() {
    std::string tmpl = fifoParent() + "/berthctl-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw berth::systemError("mkdtemp " + tmpl, errno);
    dir_ = tmpl;
  }
  ~FifoDir() {
    for (const auto& p : fifos_) ::unlink(p.c_str());
    ::rmdir(dir_.c_str());
  }
  FifoDir(const FifoDir&) = delete;
  FifoDir& operator=(const FifoDir&) = delete;

  std::string make(const std::string& name) {
    std::string path = dir_ + "/" + name;
    if (::mkfifo(path.c_str(), 0600) != 0) throw berth::systemError("mkfifo " + path, errno);
    fifos_.push_back(path);
    return path;
  }

 private:
  std::string dir_;
  std::vector<std::string> fifos_;
};

// The IO of one attached process and everything forwarded while it runs.
class Attached {
 public:
  Attached(Client& c, std::string id, std::string execId, bool tty)
      : c_(c),
        id_(std::move(id)),
        execId_(std::move(execId)),
        tty_(tty),
        stdinGuard_(0),
        signals_(c.io()),
        winch_(c.io()),
        quiet_(c.io()) {
    auto paf = kj::newPromiseAndFulfiller<void>();
    drained_ = kj::mv(paf.promise);
    drainedFulfiller_ = kj::mv(paf.fulfiller);
    // Caught from now on: a signal during create/start must not kill us and
    // leave the task behind; it is forwarded once the process runs. (ctr
    // forwards every signal; these are the ones a user or a supervisor
    // sends, and the ones whose default action would end berthctl with the
    // terminal raw and the FIFOs left.)
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) signals_.add(sig);
    waitSignal();

    // Read ends first (non-blocking: no writer yet), then a writer of our own
    // so the read ends see no EOF before the process's writers arrive.
    stdoutPath_ = dir_.make("stdout");
    addPump(stdoutPath_, 1);
    if (!tty_) {
      stderrPath_ = dir_.make("stderr");
      addPump(stderrPath_, 2);
    }
    if (tty_ || stdinIsData()) {
      stdinPath_ = dir_.make("stdin");
      // O_RDWR never blocks on a FIFO; the shim opens the read end at create.
      stdinFifo_.emplace(c_.io(), openOrThrow(stdinPath_, O_RDWR | O_NONBLOCK));
    }
  }

  ~Attached() {
    *alive_ = false;
    raw_.reset();
  }

  void fillIo(berth::wire::IO::Builder io) const {
    io.setStdin(stdinPath_);
    io.setStdout(stdoutPath_);
    io.setStderr(stderrPath_);
    io.setTerminal(tty_);
  }

  // After a successful start: forward signals (one that came before the
  // start is sent now) and our stdin, and with --tty our terminal.
  void attach() {
    started_ = true;
    // Read only now: what came before is runc's own error, written to the
    // process's stderr when its create or start failed, and that failure is
    // reported once, as berthctl's error line. (The process cannot write
    // before its start; whatever it wrote since is still in the FIFOs.)
    for (auto& p : pumps_) readPump(*p);
    for (int sig : std::exchange(pendingSignals_, {})) forwardSignal(sig);
    if (tty_) {
      raw_ = std::make_unique<RawMode>(0);
      sendResize();
      winch_.add(SIGWINCH);
      waitWinch();
    }
    if (!stdinFifo_) return;  // the process has /dev/null
    int fd = openOurStdin();
    if (fd >= 0) {
      stdinIn_.emplace(c_.io(), fd);
      readStdin();
    } else {
      closeStdin();  // no stdin of ours: the process's ends at once
    }
  }

  // A signal asked berthctl to stop waiting for berthd.
  bool gaveUp() const { return giveUp_; }

  // Waits for the exit, then for the output to drain; returns the exit status.
  int waitExit() {
    int code = c_.callReconnecting(
        [&] {
          auto req = c_.api().waitRequest();
          req.setExecId(execId_);
          return exitStatusCode(c_.call(kj::mv(req), id_).getExit().getStatus());
        },
        [this] { resendLost(); }, [this] { return giveUp_; });
    exited_ = true;
    holds_.clear();  // our own writers: now the process's writers alone decide EOF
    if (allEof()) {
      finishDrain();
    } else {
      armQuiet();
    }
    c_.wait(kj::mv(drained_));
    raw_.reset();
    return code;
  }

 private:
  struct Pump {
    Pump(asio::io_context& io, int fd, int out) : in(io, fd), out(out) {}
    asio::posix::stream_descriptor in;
    int out;
    std::array<char, 65536> buf{};
    bool eof = false;
    bool broken = false;
  };

  void addPump(const std::string& path, int out) {
    int rfd = openOrThrow(path, O_RDONLY | O_NONBLOCK);
    pumps_.push_back(std::make_unique<Pump>(c_.io(), rfd, out));
    holds_.emplace_back(openOrThrow(path, O_WRONLY | O_NONBLOCK));
  }

  void readPump(Pump& p) {
    p.in.async_read_some(asio::buffer(p.buf), [this, &p, alive = alive_](const boost::system::error_code& ec,
                                                                            size_t n) {
      if (!*alive) return;
      if (n > 0) {
        dataSeen_ = true;
        if (!p.broken && !writeAll(p.out, p.buf.data(), n)) p.broken = true;
      }
      if (ec) {
        p.eof = true;
        if (exited_ && allEof()) finishDrain();
        return;
      }
      readPump(p);
    });
  }

  bool allEof() const {
    for (const auto& p : pumps_)
      if (!p->eof) return false;
    return true;
  }

  void finishDrain() {
    if (drainedFulfiller_ && drainedFulfiller_->isWaiting()) drainedFulfiller_->fulfill();
  }

  void armQuiet() {
    dataSeen_ = false;
    quiet_.expires_after(kDrainQuiet);
    quiet_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
      if (ec || !*alive) return;
      if (dataSeen_) return armQuiet();
      finishDrain();
    });
  }

  void waitSignal() {
    signals_.async_wait([this, alive = alive_](const boost::system::error_code& ec, int sig) {
      if (ec || !*alive) return;
      if (exited_) {
        // After the exit: stop waiting for the output's EOF, and, while
        // berthd is away (run --rm's delete), for berthd. (Still caught:
        // the signal set owns these signals until berthctl ends.)
        if (!c_.connected()) giveUp_ = true;
        finishDrain();
        waitSignal();
        return;
      }
      if (started_) {
        // A second signal while berthd is away: the user wants out. The
        // process keeps running (as when ctr gives up at once).
        if (!c_.connected() && !lostSignals_.empty()) giveUp_ = true;
        forwardSignal(sig);
      } else {
        pendingSignals_.push_back(sig);  // all of them, in order, once it runs
      }
      waitSignal();
    });
  }

  // `order`: the signal's place among those forwarded (0: a new one), so
  // that signals berthd went away with are sent again in the order they came.
  void forwardSignal(int sig, uint64_t order = 0) {
    if (order == 0) order = ++signalsForwarded_;
    if (!c_.connected()) {
      lostSignals_[order] = sig;  // sent once berthd is back (resendLost)
      return;
    }
    auto req = c_.api().killRequest();
    c_.setTask(req.initTask(), id_);
    req.setExecId(execId_);
    req.setSignal(static_cast<uint32_t>(sig));
    sendControl(req.send().ignoreResult(), "forward signal", [this, sig, order] { lostSignals_[order] = sig; });
  }

  // A control call (a signal, the close of stdin) whose connection berthd
  // took down with it is sent again once berthctl has reconnected.
  void sendControl(kj::Promise<void> sent, const char* what, std::function<void()> markLost) {
    auto generation = c_.generation();
    c_.loop().detach(sent.catch_([this, alive = alive_, generation, markLost](kj::Exception&& e) {
      if (!*alive || e.getType() != kj::Exception::Type::DISCONNECTED) return;
      markLost();
      if (c_.generation() != generation) resendLost();  // reconnected meanwhile
    }),
                     what);
  }

  // After a reconnect: what berthd may have missed while it was away.
  void resendLost() {
    if (closeIoLost_) {
      closeIoLost_ = false;
      sendCloseIo();
    }
    // (one that berthd got before it died, unanswered, is sent twice)
    for (auto [order, sig] : std::exchange(lostSignals_, {})) forwardSignal(sig, order);
    if (tty_ && started_) sendResize();
  }

  void sendResize() {
    auto size = ourWindowSize();
    if (!size || !c_.connected()) return;  // (resent after a reconnect: resendLost)
    auto req = resizeRequest(c_, execId_, *size);
    c_.setTask(req.initTask(), id_);
    c_.loop().detach(req.send().ignoreResult().catch_([](kj::Exception&&) {}), "resize");
  }

  void waitWinch() {
    winch_.async_wait([this, alive = alive_](const boost::system::error_code& ec, int) {
      if (ec || !*alive) return;
      sendResize();
      waitWinch();
    });
  }

  void readStdin() {
    stdinIn_->async_read_some(asio::buffer(stdinBuf_), [this, alive = alive_](const boost::system::error_code& ec,
                                                                             size_t n) {
      if (!*alive) return;
      if (ec || n == 0 || !stdinFifo_) return closeStdin();
      asio::async_write(*stdinFifo_, asio::buffer(stdinBuf_.data(), n),
                        [this, alive](const boost::system::error_code& wec, size_t) {
                          if (!*alive) return;
                          if (wec) return closeStdin();
                          readStdin();
                        });
    });
  }

  void closeStdin() {
    if (stdinClosed_) return;
    stdinClosed_ = true;
    boost::system::error_code ignored;
    if (stdinFifo_) stdinFifo_->close(ignored);
    if (stdinIn_) stdinIn_->close(ignored);
    sendCloseIo();
  }

  void sendCloseIo() {
    if (!c_.connected()) {
      closeIoLost_ = true;
      return;
    }
    auto req = c_.api().closeIORequest();
    c_.setTask(req.initTask(), id_);
    req.setExecId(execId_);
    sendControl(req.send().ignoreResult(), "close stdin", [this] { closeIoLost_ = true; });
  }

  Client& c_;
  std::string id_, execId_;
  bool tty_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  FifoDir dir_;
  std::string stdinPath_, stdoutPath_, stderrPath_;
  FdFlagsGuard stdinGuard_;
  std::vector<std::unique_ptr<Pump>> pumps_;
  std::vector<berth::UniqueFd> holds_;
  std::optional<asio::posix::stream_descriptor> stdinIn_, stdinFifo_;
  std::array<char, 16384> stdinBuf_{};
  bool stdinClosed_ = false;
  bool closeIoLost_ = false;  // berthd went away with our close of stdin
  std::map<uint64_t, int> lostSignals_;  // ... or with signals we forwarded, by order
  uint64_t signalsForwarded_ = 0;
  bool giveUp_ = false;  // stop waiting for berthd to come back
  std::unique_ptr<RawMode> raw_;
  asio::signal_set signals_, winch_;
  asio::steady_timer quiet_;
  bool started_ = false;
  std::vector<int> pendingSignals_;  // come before the start answer
  bool exited_ = false;
  bool dataSeen_ = false;
  kj::Promise<void> drained_ = nullptr;
  kj::Own<kj::PromiseFulfiller<void>> drainedFulfiller_;
};

void startProcess(Client& c, const std::string& id, const std::string& execId) {
  auto req = c.api().startRequest();
  req.setExecId(execId);
  c.call(kj::mv(req), id);
}

// Best effort: a created process whose start failed is deleted again.
void deleteQuietly(Client& c, const std::string& id, const std::string& execId) {
  try {
    auto req = c.api().deleteRequest();
    req.setExecId(execId);
    c.call(kj::mv(req), id);
  } catch (...) {
  }
}

void startOrDelete(Client& c, const std::string& id, const std::string& execId) {
  try {
    startProcess(c, id, execId);
  } catch (...) {
    deleteQuietly(c, id, execId);
    throw;
  }
}

}  // namespace

int cmdRun(const Globals& g, const RunArgs& a) {
  checkTaskArgs(g, a.id);
  std::string bundle = resolvePath("bundle", a.bundle);
  ::signal(SIGPIPE, SIG_IGN);
  Client c(g);
  // Created and started in one call (opts.start): one round trip less, and
  // berthd deletes the task if the start fails. A berthd older than
  // opts.start only creates it: then it is started here, as before. With a
  // terminal of ours the created init's pty gets our size before the start:
  // a resize after the start's answer comes late for what the process lays
  // out at once (`stty size`, a shell's first prompt). (An exec's size goes
  // in its spec: runc exec runs it at once.)
  const auto sizeFirst = a.tty && !a.detach ? ourWindowSize() : std::nullopt;
  auto createAndStart = [&](const Attached* att) {
    auto req = c.api().createRequest();
    auto opts = req.initOpts();
    opts.setBundle(bundle);
    opts.setStart(!sizeFirst);
    if (att) {
      att->fillIo(opts.initIo());
    } else {
      opts.initIo().setTerminal(a.tty);
    }
    if (c.call(kj::mv(req), a.id).getStarted()) return;
    if (sizeFirst) {
      try {
        c.call(resizeRequest(c, "", *sizeFirst), a.id);
      } catch (...) {
        deleteQuietly(c, a.id, "");
        throw;
      }
    }
    startOrDelete(c, a.id, "");
  };
  if (a.detach) {
    createAndStart(nullptr);
    return 0;
  }
  Attached att(c, a.id, "", a.tty);
  createAndStart(&att);
  att.attach();
  int code = att.waitExit();
  if (a.rm) {
    bool again = false;  // a delete berthd did before it died, unanswered, finds it gone
    c.callReconnecting(
        [&] {
          try {
            c.call(c.api().deleteRequest(), a.id);
          } catch (const berth::Error& e) {
            if (!again || e.code() != berth::Code::NotFound) throw;
          }
        },
        [&] { again = true; }, [&] { return att.gaveUp(); });
  }
  return code;
}

int cmdExec(const Globals& g, const ExecArgs& a) {
  checkTaskArgs(g, a.id, a.execId);
  if (a.execId.empty()) throw berth::invalidArgument("--exec-id is required");
  if (a.args.empty()) throw berth::invalidArgument("no command given");
  // A partial OCI process spec: berthd/the shim merge it onto the task's own
  // process (so args replace, everything not given is inherited).
  nlohmann::ordered_json spec;
  spec["args"] = a.args;
  if (!a.cwd.empty()) spec["cwd"] = a.cwd;
  if (!a.env.empty()) spec["env"] = a.env;
  spec["terminal"] = a.tty;
  // runc makes the pty this size before the process runs (a resize after the
  // start's answer comes late for what it lays out at once: `stty size`)
  if (a.tty && !a.detach) {
    if (auto size = ourWindowSize()) spec["consoleSize"] = {{"height", size->second}, {"width", size->first}};
  }
  std::string specText;
  try {
    specText = spec.dump();
  } catch (const nlohmann::json::type_error& e) {  // (a spec is JSON: its strings are UTF-8)
    throw berth::invalidArgument("the command, --env and --cwd must be UTF-8 text: " + std::string(e.what()));
  }
  ::signal(SIGPIPE, SIG_IGN);
  Client c(g);
  auto exec = [&](const Attached* att) {
    auto req = c.api().execRequest();
    req.setExecId(a.execId);
    auto opts = req.initOpts();
    opts.setSpec(kj::arrayPtr(reinterpret_cast<const kj::byte*>(specText.data()), specText.size()));
    if (att) {
      att->fillIo(opts.initIo());
    } else {
      opts.initIo().setTerminal(a.tty);
    }
    c.call(kj::mv(req), a.id);
  };
  if (a.detach) {
    exec(nullptr);
    startOrDelete(c, a.id, a.execId);
    return 0;
  }
  Attached att(c, a.id, a.execId, a.tty);
  exec(&att);
  startOrDelete(c, a.id, a.execId);
  att.attach();
  int code = att.waitExit();
  deleteQuietly(c, a.id, a.execId);
  return code;
}

}  // namespace berthctl
