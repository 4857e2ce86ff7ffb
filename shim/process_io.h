// Opening a process's stdio: each of stdin/stdout/stderr is a FIFO path, a
// regular file (opened for append, created if missing) or absent (/dev/null).
//
// stdout and stderr are handed to the process directly: the container writes
// into the FIFO or file itself, so no byte passes through the shim, output
// keeps flowing whatever happens to berthd or the shim, and all of it is in
// the FIFO/file by the time the exit is reported. stdin goes through a pipe
// the shim feeds from the FIFO, so that closeIO can give the process EOF.
#pragma once

#include "common/asio.h"
#include "common/runc_deadlines.h"
#include "shim/console.h"
#include "shim/runc.h"

#include <chrono>
#include <memory>
#include <string>

namespace berth::shim {

struct IoPaths {
  std::string stdin, stdout, stderr;
  bool terminal = false;
};

class StdinCopier;

class ProcessIO {
 public:
  ProcessIO() = default;
  ProcessIO(ProcessIO&& o) noexcept;
  ProcessIO& operator=(ProcessIO&& o) noexcept;
  ~ProcessIO();

  // With paths.terminal, listens on `consoleSocket` for runc's pty master.
  static ProcessIO open(asio::io_context& io, const IoPaths& paths,
                        const std::string& consoleSocket);

  // The fds runc hands to the process.
  ProcessStdio stdio() const { return stdio_; }
  // The console socket path for runc, empty without a terminal.
  std::string consoleSocketPath() const { return socket_ ? socket_->path() : ""; }
  // After runc create/exec: takes the pty master and starts copying.
  // Throws (internal) if it has not come within kRuncConsolePatience.
  asio::awaitable<void> attachConsole();
  std::shared_ptr<Console> console() const { return console_; }
  void resize(unsigned width, unsigned height);
  // Drops the shim's copies once runc has passed them on.
  void releaseProcessSide();
  // Gives the process EOF on stdin, after what was already written reaches it.
  void closeStdin();
  // Stops feeding stdin at once and closes a terminal (the process has
  // exited).
  void stopStdin();

 private:
  ProcessStdio stdio_;
  std::shared_ptr<StdinCopier> copier_;
  // Terminal mode: the socket runc sends the master on, the targets the
  // console copies to/from until attachConsole(), then the console.
  std::unique_ptr<ConsoleSocket> socket_;
  int consoleOut_ = -1, consoleIn_ = -1;
  std::shared_ptr<Console> console_;
};

}  // namespace berth::shim
