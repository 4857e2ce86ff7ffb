// Starting child processes (runc, criu, berth-shim) and running commands to
// completion with a deadline, on the one loop.
#pragma once

#include "common/asio.h"
#include "common/done_signal.h"
#include "common/errors.h"
#include "common/reaper.h"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace berth {

// As SpawnOptions::stderrFd: the same as stdout (2>&1).
constexpr int kStderrToStdout = -2;

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH if it has no '/'
  int stdinFd = -1;               // -1: /dev/null
  int stdoutFd = -1;
  int stderrFd = -1;
  std::vector<int> extraFds;      // passed on as fds 3, 4, ... in this order
  std::vector<std::string> env;   // empty: inherit ours
  std::string cwd;                // empty: inherit
  bool newSession = false;        // setsid() in the child
  // SIGKILLed when we die (PR_SET_PDEATHSIG): for work that a successor of
  // ours redoes and that must not run on behind its back (a cleanup that
  // would remove what the successor made since under the same id).
  bool dieWithUs = false;
  int execFd = -1;                // run this executable (a sealed copy of argv[0]:
                                  // common/sealed_copy.h) instead of argv[0]'s file
};

// What spawnProcess throws when the child failed before it ran anything:
// its exec, or the fd set-up before it (errno says which). The child exits
// 127; the caller's reaper gets it.
class ExecFailed : public Error {
 public:
  ExecFailed(const Error& e, pid_t pid, int err) : Error(e), pid(pid), err(err) {}
  pid_t pid;
  int err;
};

// vfork + exec. The child gets exactly stdio (+ extraFds); every other fd is
// closed, signal dispositions and mask are reset. Throws with errno context
// (exec failures as ExecFailed: the child reports errno through a CLOEXEC pipe).
pid_t spawnProcess(const SpawnOptions& options);

struct CommandResult {
  int waitStatus = 0;
  std::string out;     // captured stdout (when asked)
  bool timedOut = false;
  bool exitPending = false;  // runCommandUntil: done before the command exited
  bool ok() const;     // exited 0 (or done, its exit pending)
};

// Runs a command to completion; kills it (SIGKILL) at the deadline. With
// captureStdout its stdout is read into `out` (its stdoutFd is ignored).
asio::awaitable<CommandResult> runCommand(Reaper& reaper, SpawnOptions options,
                                          std::chrono::milliseconds deadline,
                                          bool captureStdout = false);

// As runCommand (no capture), but also done when `finished` is set before
// the command exits: the caller's own sign that the command did its work
// (shim/pid_file_watch.h: the pid file runc create and runc exec write as
// their last step). The command then exits on its own, with no deadline; its
// exit goes to `lateExit` (from the reaper, on the loop). The result says
// which came first (`exitPending`, with waitStatus 0).
asio::awaitable<CommandResult> runCommandUntil(Reaper& reaper, SpawnOptions options,
                                               std::chrono::milliseconds deadline,
                                               std::shared_ptr<DoneSignal> finished,
                                               std::function<void(pid_t, int waitStatus)> lateExit);

// A process that reports readiness with a line on stdout and keeps running
// (berth-shim start --no-fork). Returns once the line is there, with the
// pid; from then on the reaper only reaps its exit (whoever cares watches
// the pid otherwise). If it exits or closes stdout first, `line` is empty
// and `waitStatus` says how it ended; at the deadline it is killed (SIGKILL).
struct StartedProcess {
  pid_t pid = 0;
  std::string line;    // without the newline
  int waitStatus = 0;  // when it ended without a line
  bool timedOut = false;
};
asio::awaitable<StartedProcess> startUntilLine(Reaper& reaper, SpawnOptions options,
                                               std::chrono::milliseconds deadline);

}  // namespace berth
