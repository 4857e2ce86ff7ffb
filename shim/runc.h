// The OCI runtime binary (runc), one command per operation.
//
// Every call runs with `--log FILE --log-format json`; when it fails, the last
// error line of that log becomes the error, so users read runc's own words.
// Every call has a deadline, and none blocks the loop.
#pragma once

#include "common/asio.h"
#include "common/errors.h"
#include "common/reaper.h"
#include "common/sealed_copy.h"
#include "shim/pid_file_watch.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace berth::shim {

struct ProcessStdio {
  int in = -1, out = -1, err = -1;  // -1: /dev/null
};

// runc ran and refused (exited non-zero), in its own words; internal until a
// caller knows better (a spec or resources runc cannot use are the client's
// to fix). runc's own error path removes what it made. A runc that timed out
// or was killed by a signal is a plain internal Error: it may have left a
// container behind.
class RuntimeRefused : public Error {
public:
  explicit RuntimeRefused(std::string message) : Error(Code::Internal, std::move(message)) {}
};

class Runc {
 public:
  // `copy`: a sealed copy of `binary` (common/sealed_copy.h) to run while
  // the file at `binary` is still the one copied; fd -1 for none.
  Runc(Reaper& reaper, std::string binary, SealedCopy copy, std::string root, std::string logFile);

  // `consoleSocket` non-empty: runc allocates a pty and sends its master there.
  asio::awaitable<void> create(const std::string& id, const std::string& bundle,
                               const std::string& pidFile, ProcessStdio io,
                               const std::string& consoleSocket);
  asio::awaitable<void> start(const std::string& id);
  asio::awaitable<void> exec(const std::string& id, const std::string& processJson,
                             const std::string& pidFile, ProcessStdio io,
                             const std::string& consoleSocket);
  asio::awaitable<void> kill(const std::string& id, int signal, bool all);
  // A container runc no longer knows (a `runc delete` behind our back, a
  // checkpoint that did not leave it running) counts as removed.
  asio::awaitable<void> remove(const std::string& id, bool force);
  asio::awaitable<void> pause(const std::string& id);
  asio::awaitable<void> resume(const std::string& id);
  // The resources go on runc's stdin: each call its own, however many run at once.
  asio::awaitable<void> update(const std::string& id, const std::string& resourcesJson);
  asio::awaitable<void> checkpoint(const std::string& id, const std::string& imagePath,
                                   const std::string& workPath, bool leaveRunning);
  asio::awaitable<std::vector<int>> ps(const std::string& id);
  // Restores a checkpoint as the container's running init.
  asio::awaitable<void> restore(const std::string& id, const std::string& bundle,
                                const std::string& imagePath, const std::string& workPath,
                                const std::string& pidFile, ProcessStdio io,
                                const std::string& consoleSocket);
  // `criu check`: empty when criu can work on this kernel, else criu's words.
  asio::awaitable<std::string> criuProblem();

  const std::string& binary() const { return binary_; }
  // Where runc create leaves the fifo its init waits on (shim/exec_fifo.h).
  std::string execFifo(const std::string& id) const { return containerDir(id) + "/exec.fifo"; }
  // runc's state dir of a container (ROOT/ID).
  std::string containerDir(const std::string& id) const { return root_ + "/" + id; }

 private:
  // Runs `runc GLOBAL… args…`; on failure throws with runc's last error line.
  // With `pidFile`, done once runc has renamed it into place, even before
  // runc exits (shim/pid_file_watch.h).
  asio::awaitable<std::string> run(std::vector<std::string> args, ProcessStdio io,
                                   std::chrono::milliseconds deadline, bool capture,
                                   std::string what, std::string pidFile = {});
  // A call's own log: kept as `logFile` (the last failure's) if it failed,
  // else removed.
  static void settleLog(const std::string& log, const std::string& logFile, bool failed);
  // The message of the last error line of a runc log.
  static std::string lastLogError(const std::string& logFile);
  // The copy's fd while the binary at the path is the one copied; -1 (and
  // the copy closed for good) once it changed: an upgraded runc is run from
  // its path, as containerd's shim would.
  int currentCopy();
  void dropCopy(const std::string& why);

  Reaper& reaper_;
  std::string binary_;
  SealedCopy copy_;
  std::string root_, logFile_;
  uint64_t calls_ = 0;
  std::unique_ptr<PidFileWatch> pidFileWatch_;  // made at the first call that writes a pid file
};

}  // namespace berth::shim
