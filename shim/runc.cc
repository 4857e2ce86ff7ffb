#include "shim/runc.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/runc_deadlines.h"
#include "common/spawn.h"
#include "common/unique_fd.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth::shim {

Runc::Runc(Reaper& reaper, std::string binary, SealedCopy copy, std::string root, std::string logFile)
    : reaper_(reaper), binary_(std::move(binary)), copy_(std::move(copy)), root_(std::move(root)),
      logFile_(std::move(logFile)) {}

int Runc::currentCopy() {
  if (copy_.fd < 0) return -1;
  std::string why;
  if (fileStampOf(binary_) != copy_.stamp) {
    dropCopy("the runtime " + binary_ + " changed since this shim started");
  } else if (!usableCopy(copy_.fd, &why)) {
    dropCopy("its sealed copy was changed (" + why + ")");
  }
  return copy_.fd;
}

void Runc::dropCopy(const std::string& why) {
  BERTH_LOG(warn) << why << ": running " << binary_ << " from its path";
  ::close(copy_.fd);
  copy_ = {};
}

std::string Runc::lastLogError(const std::string& logFile) {
  auto text = readFile(logFile);
  if (!text) return "";
  std::istringstream in(*text);
  std::string line, last;
  while (std::getline(in, line)) {
    try {
      auto j = nlohmann::json::parse(line);
      auto level = j.value("level", "");
      if (level == "error" || level == "fatal") last = j.value("msg", line);
    } catch (...) {
      // Not JSON (runc wrote something before its logger was up): keep it.
      if (!line.empty()) last = line;
    }
  }
  return last;
}

void Runc::settleLog(const std::string& log, const std::string& logFile, bool failed) {
  if (!failed) {
    ::unlink(log.c_str());
  } else if (::rename(log.c_str(), logFile.c_str()) != 0 && errno != ENOENT) {
    BERTH_LOG(warn) << "rename " << log << ": " << strerror(errno);
  }
}

asio::awaitable<std::string> Runc::run(std::vector<std::string> args, ProcessStdio io,
                                       std::chrono::milliseconds deadline, bool capture,
                                       std::string what, std::string pidFile) {
  // A log of the call's own: calls run at once (execs, a kill during a
  // start), and the error read back must be this call's. A failed call's
  // log is kept as logFile_ (the last failure's), a good one's removed.
  const std::string log = logFile_ + "." + std::to_string(++calls_);
  SpawnOptions o;
  o.argv = {binary_, "--root", root_, "--log", log, "--log-format", "json"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.execFd = currentCopy();
  // A call of a shim that died is nobody's: berthd cleans up after the shim
  // (berth-shim delete), and a create finishing behind that cleanup would
  // leave a container nobody knows of (rec-stale-delete).
  o.dieWithUs = true;
  o.stdinFd = io.in;
  o.stdoutFd = io.out;
  o.stderrFd = io.err;
  // runc with a notify socket (NOTIFY_SOCKET in our environment) waits for
  // the container's READY after writing the pid file: that runc is waited for.
  const char* notify = std::getenv("NOTIFY_SOCKET");
  if (capture || (notify && *notify)) pidFile.clear();
  auto executor = co_await asio::this_coro::executor;
  // After the pid file, runc has nothing left to fail: an exit other than 0
  // then is logged with runc's words, and its log kept as logFile_.
  auto lateExit = [log, logFile = logFile_, what](pid_t pid, int status) {
    bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    settleLog(log, logFile, failed);
    if (!failed) return;
    std::string msg = lastLogError(logFile);
    BERTH_LOG(warn) << "runc " << what << " (pid " << pid << ") " << describeWaitStatus(status)
                    << " after its pid file was in place" << (msg.empty() ? "" : ": " + msg);
  };
  auto runOnce = [&](const SpawnOptions& opts) -> asio::awaitable<CommandResult> {
    auto done = std::make_shared<DoneSignal>(executor);
    std::unique_ptr<PidFileWatch::Expectation> expectation;
    if (!pidFile.empty()) {
      if (!pidFileWatch_) pidFileWatch_ = std::make_unique<PidFileWatch>(executor);
      expectation = pidFileWatch_->expect(pidFile, done);
    }
    if (!expectation) co_return co_await runCommand(reaper_, opts, deadline, capture);
    co_return co_await runCommandUntil(reaper_, opts, deadline, done, lateExit);
  };
  std::optional<CommandResult> result;
  std::string copyFailed;
  try {
    result = co_await runOnce(o);
  } catch (const ExecFailed& e) {
    // The copy changed between the check and the exec (nothing ran); not
    // a failure of the child's fd set-up, which the path would meet too.
    bool ofTheFile = e.err == EACCES || e.err == EPERM || e.err == ENOEXEC || e.err == ENOENT;
    if (o.execFd < 0 || !ofTheFile) throw;
    copyFailed = e.what();
  }
  if (!result) {
    dropCopy("exec of the runtime's sealed copy failed (" + copyFailed + ")");
    o.execFd = -1;
    result = co_await runOnce(o);
  }
  if (!result->exitPending) settleLog(log, logFile_, result->timedOut || !result->ok());  // (else lateExit does)
  if (result->timedOut) {
    throw internal(std::string("runc ") + what + " did not finish within " +
                   std::to_string(deadline.count() / 1000) + " s (killed)");
  }
  if (!result->ok()) {
    std::string msg = lastLogError(logFile_);
    if (WIFSIGNALED(result->waitStatus)) {
      throw internal(std::string("runc ") + what + " was killed (" +
                     describeWaitStatus(result->waitStatus) + ")" + (msg.empty() ? "" : ": " + msg));
    }
    if (msg.empty()) msg = describeWaitStatus(result->waitStatus);
    // runc's fatal line already reads "runc create failed: ..."; say it once.
    std::string prefix = "runc " + what + " failed: ";
    throw RuntimeRefused(msg.rfind(prefix, 0) == 0 ? msg : prefix + msg);
  }
  co_return result->out;
}

asio::awaitable<void> Runc::create(const std::string& id, const std::string& bundle,
                                   const std::string& pidFile, ProcessStdio io,
                                   const std::string& consoleSocket) {
  std::vector<std::string> args{"create", "--bundle", bundle, "--pid-file", pidFile};
  if (!consoleSocket.empty()) {
    args.push_back("--console-socket");
    args.push_back(consoleSocket);
  }
  args.push_back(id);
  std::string what = "create";
  co_await run(std::move(args), io, kRuncLongCall, false, std::move(what), pidFile);
}

asio::awaitable<void> Runc::start(const std::string& id) {
  std::vector<std::string> args{"start", id};
  std::string what = "start";
  co_await run(std::move(args), {}, kRuncShortCall, false, std::move(what));
}

asio::awaitable<void> Runc::exec(const std::string& id, const std::string& processJson,
                                 const std::string& pidFile, ProcessStdio io,
                                 const std::string& consoleSocket) {
  std::vector<std::string> args{"exec", "--detach", "--process", processJson, "--pid-file", pidFile};
  if (!consoleSocket.empty()) {
    args.push_back("--console-socket");
    args.push_back(consoleSocket);
  }
  args.push_back(id);
  std::string what = "exec";
  co_await run(std::move(args), io, kRuncLongCall, false, std::move(what), pidFile);
}

asio::awaitable<void> Runc::kill(const std::string& id, int signal, bool all) {
  std::vector<std::string> args{"kill"};
  if (all) args.push_back("--all");
  args.push_back(id);
  args.push_back(std::to_string(signal));
  std::string what = "kill";
  co_await run(std::move(args), {}, kRuncShortCall, false, std::move(what));
}

asio::awaitable<void> Runc::remove(const std::string& id, bool force) {
  std::vector<std::string> args{"delete"};
  if (force) args.push_back("--force");
  args.push_back(id);
  std::string what = "delete";
  try {
    co_await run(std::move(args), {}, kRuncShortCall, false, std::move(what));
  } catch (const RuntimeRefused& e) {
    // Already gone from runc: nothing is left for runc to remove, and the
    // task must still be deletable. containerd's shim does the same.
    if (std::string_view(e.what()).find("container does not exist") == std::string_view::npos) throw;
    BERTH_LOG(info) << "runc delete " << id << ": " << e.what() << " (already gone)";
  }
}

asio::awaitable<void> Runc::pause(const std::string& id) {
  // (tries again only within the first 5 s: berthd gives the pause 30 s)
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (int attempt = 1;; ++attempt) {
    try {
      std::vector<std::string> args{"pause", id};
      std::string what = "pause";
      co_await run(std::move(args), {}, kRuncShortCall, false, std::move(what));
      co_return;
    } catch (const RuntimeRefused& e) {
      // runc gives up on a v1 freeze that does not settle within its own
      // retries (a task forking hard on a loaded host), thawing it again:
      // a moment later the freeze usually takes.
      if (attempt == 3 || std::chrono::steady_clock::now() >= until ||
          std::string_view(e.what()).find("unable to freeze") == std::string_view::npos) {
        throw;
      }
      BERTH_LOG(warn) << "runc pause " << id << ": " << e.what() << "; trying again";
    }
  }
}

asio::awaitable<void> Runc::resume(const std::string& id) {
  std::vector<std::string> args{"resume", id};
  std::string what = "resume";
  co_await run(std::move(args), {}, kRuncShortCall, false, std::move(what));
}

asio::awaitable<void> Runc::update(const std::string& id, const std::string& resourcesJson) {
  UniqueFd in(::memfd_create("berth-resources", MFD_CLOEXEC));
  if (in.fd < 0) throw systemError("memfd_create for runc update", errno);
  writeAll(in.fd, resourcesJson, "the resources of runc update");
  if (::lseek(in.fd, 0, SEEK_SET) != 0) throw systemError("lseek (runc update's resources)", errno);
  std::vector<std::string> args{"update", "--resources", "-", id};
  std::string what = "update";
  co_await run(std::move(args), {.in = in.fd}, kRuncShortCall, false, std::move(what));
}

asio::awaitable<void> Runc::checkpoint(const std::string& id, const std::string& imagePath,
                                       const std::string& workPath, bool leaveRunning) {
  std::vector<std::string> args{"checkpoint", "--image-path", imagePath, "--work-path", workPath};
  if (leaveRunning) args.push_back("--leave-running");
  args.push_back(id);
  std::string what = "checkpoint";
  co_await run(std::move(args), {}, kRuncLongCall, false, std::move(what));
}

asio::awaitable<std::vector<int>> Runc::ps(const std::string& id) {
  std::vector<std::string> args{"ps", "--format", "json", id};
  std::string what = "ps";
  auto out = co_await run(std::move(args), {}, kRuncShortCall, true, std::move(what));
  std::vector<int> pids;
  try {
    auto j = nlohmann::json::parse(out);
    if (j.is_array()) {
      for (auto& p : j) pids.push_back(p.template get<int>());
    }
  } catch (std::exception& e) {
    throw internal("runc ps printed something that is not a JSON list of pids: " +
                   std::string(e.what()));
  }
  co_return pids;
}

}  // namespace berth::shim

namespace berth::shim {

asio::awaitable<void> Runc::restore(const std::string& id, const std::string& bundle,
                                    const std::string& imagePath, const std::string& workPath,
                                    const std::string& pidFile, ProcessStdio io,
                                    const std::string& consoleSocket) {
  std::vector<std::string> args{"restore", "--detach", "--bundle", bundle, "--image-path",
                                imagePath, "--work-path", workPath, "--pid-file", pidFile};
  if (!consoleSocket.empty()) {
    args.push_back("--console-socket");
    args.push_back(consoleSocket);
  }
  args.push_back(id);
  std::string what = "restore";
  co_await run(std::move(args), io, kRuncLongCall, false, std::move(what));
}

asio::awaitable<std::string> Runc::criuProblem() {
  SpawnOptions o;
  o.argv = {"criu", "check"};
  o.stderrFd = kStderrToStdout;
  CommandResult r;
  try {
    r = co_await runCommand(reaper_, std::move(o), kRuncShortCall, true);
  } catch (Error& e) {
    co_return "criu is not installed: " + e.message();
  }
  if (r.ok()) co_return "";
  // criu's "Error (file:line): why" lines are its reasons.
  std::istringstream in(r.out);
  std::string line, reasons;
  while (std::getline(in, line)) {
    if (line.find("Error") == std::string::npos) continue;
    auto colon = line.find("): ");
    reasons += (reasons.empty() ? "" : "; ") +
               (colon == std::string::npos ? line : line.substr(colon + 3));
  }
  if (reasons.empty()) reasons = r.out;
  co_return "criu check failed (" + describeWaitStatus(r.waitStatus) + "): " + reasons;
}

}  // namespace berth::shim
