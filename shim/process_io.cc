#include "shim/process_io.h"

#include "common/errors.h"
#include "common/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
#include <vector>

namespace berth::shim {

namespace {
bool isFifo(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

// The IO files one ProcessIO::open created. Unless kept, they are removed
// again: a refused IO path leaves no file behind that was not there before
// (the outputs are opened, and created, before stdin is looked at).
class CreatedFiles {
 public:
  CreatedFiles() = default;
  CreatedFiles(const CreatedFiles&) = delete;
  CreatedFiles& operator=(const CreatedFiles&) = delete;
  ~CreatedFiles() {
    if (kept_) return;
    for (const auto& path : paths_) ::unlink(path.c_str());
  }
  // Opens PATH with O_CREAT and FLAGS; notes it if this open made it.
  int open(const std::string& path, int flags) {
    int fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL, 0640);
    if (fd >= 0) {
      paths_.push_back(path);
      return fd;
    }
    if (errno != EEXIST) return -1;
    // There already, or a dangling symlink (O_EXCL refuses those): opened,
    // or the link's target made, as before; either way not ours to remove.
    return ::open(path.c_str(), flags | O_CREAT, 0640);
  }
  void keep() { kept_ = true; }

 private:
  std::vector<std::string> paths_;
  bool kept_ = false;
};

int openOutput(const std::string& path, CreatedFiles& created) {
  if (path.empty()) return -1;
  if (isFifo(path)) {
    // O_RDWR never blocks and never fails for want of a reader; the process
    // then writes with blocking semantics like any pipe.
    int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw invalidArgument("cannot open FIFO " + path + ": " + strerror(errno));
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
  }
  int fd = created.open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw invalidArgument("cannot open " + path + " for append: " + strerror(errno));
  return fd;
}

// The process's stdin source: a FIFO opened O_RDWR (we hold a writer too, so
// a client that closes and reopens it is no EOF; closeIO is), or a regular
// file, created (empty) if missing, like the outputs.
struct Input {
  int fd;
  bool fifo;
};
Input openInput(const std::string& path, CreatedFiles& created) {
  if (isFifo(path)) {
    int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw invalidArgument("cannot open FIFO " + path + ": " + strerror(errno));
    return {fd, true};
  }
  int fd = created.open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw invalidArgument("cannot open " + path + ": " + strerror(errno));
  return {fd, false};
}

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}
}  // namespace

// Feeds a process's stdin pipe from a FIFO, never blocking the loop.
class StdinCopier : public std::enable_shared_from_this<StdinCopier> {
 public:
  StdinCopier(asio::io_context& io, int fifo, int pipeWrite)
      : fifo_(io, fifo), pipe_(io, pipeWrite) {}

  void start() {
    asio::co_spawn(fifo_.get_executor(), copy(shared_from_this()), asio::detached);
  }
  // EOF for the process once what was written into the FIFO so far has been
  // passed on (closeIO right after a write must not lose the write).
  void finish() {
    finishing_ = true;
    boost::system::error_code ignored;
    fifo_.cancel(ignored);  // wakes a copy waiting for more input
  }
  // Stops at once (the process is gone).
  void close() {
    boost::system::error_code ignored;
    pipe_.close(ignored);
    fifo_.close(ignored);
  }

 private:
  static asio::awaitable<void> copy(std::shared_ptr<StdinCopier> self) {
    std::array<char, 32 * 1024> buf;
    boost::system::error_code ec;
    while (!self->finishing_) {
      size_t n = co_await self->fifo_.async_read_some(
          asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted && self->finishing_) {
        // finish() cancelled the wait: what the FIFO holds is still to go
        // (written just before the close-stdin, its readiness not yet seen)
        ec = {};
        break;
      }
      if (ec) break;
      co_await asio::async_write(self->pipe_, asio::buffer(buf.data(), n),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;  // the process closed its stdin or exited
    }
    // Finishing: pass on what is already in the FIFO, then close the pipe.
    if (self->finishing_ && !ec && self->fifo_.is_open()) {
      co_await passOnBuffered(self->fifo_, self->pipe_, asio::buffer(buf));
    }
    self->close();
  }

  bool finishing_ = false;

  asio::posix::stream_descriptor fifo_, pipe_;
};

ProcessIO ProcessIO::open(asio::io_context& io, const IoPaths& paths,
                          const std::string& consoleSocket) {
  ProcessIO p;
  CreatedFiles created;
  if (paths.terminal) {
    // stderr goes to the same pty; stdout's target receives both.
    try {
      p.consoleOut_ = openOutput(paths.stdout, created);
      if (!paths.stdin.empty()) p.consoleIn_ = openInput(paths.stdin, created).fd;
      p.socket_ = std::make_unique<ConsoleSocket>(io, consoleSocket);
    } catch (...) {
      closeFd(p.consoleOut_);
      closeFd(p.consoleIn_);
      throw;
    }
    created.keep();
    return p;
  }
  try {
    p.stdio_.out = openOutput(paths.stdout, created);
    p.stdio_.err = openOutput(paths.stderr, created);
    if (!paths.stdin.empty()) {
      Input in = openInput(paths.stdin, created);
      if (in.fifo) {
        int fifo = in.fd;
        int pipefd[2];
        if (::pipe2(pipefd, O_CLOEXEC) != 0) {
          ::close(fifo);
          throw systemError("pipe2 for stdin", errno);
        }
        p.stdio_.in = pipefd[0];
        p.copier_ = std::make_shared<StdinCopier>(io, fifo, pipefd[1]);
        p.copier_->start();
      } else {
        p.stdio_.in = in.fd;  // the process reads the file itself
      }
    }
  } catch (...) {
    p.releaseProcessSide();
    p.closeStdin();
    throw;
  }
  created.keep();
  return p;
}

asio::awaitable<void> ProcessIO::attachConsole() {
  if (!socket_) co_return;
  int master = co_await socket_->receiveMaster(kRuncConsolePatience);
  socket_.reset();
  auto& io = static_cast<asio::io_context&>((co_await asio::this_coro::executor).context());
  console_ = std::make_shared<Console>(io, master, std::exchange(consoleOut_, -1),
                                       std::exchange(consoleIn_, -1));
  console_->start();
}

void ProcessIO::resize(unsigned width, unsigned height) {
  // No terminal: nothing to resize, as containerd's shim answers (no error).
  if (!console_) return;
  console_->resize(width, height);
}

void ProcessIO::releaseProcessSide() {
  closeFd(stdio_.in);
  closeFd(stdio_.out);
  closeFd(stdio_.err);
}

void ProcessIO::closeStdin() {
  if (console_) console_->closeStdin();
  // (kept: a copy still passing on to a process that no longer reads, its
  // pipe full, is stopped at the exit by stopStdin)
  if (copier_) copier_->finish();
}

void ProcessIO::stopStdin() {
  if (copier_) {
    copier_->close();
    copier_.reset();
  }
  if (console_) console_->close();
}

ProcessIO::ProcessIO(ProcessIO&& o) noexcept
    : stdio_(std::exchange(o.stdio_, {})), copier_(std::move(o.copier_)),
      socket_(std::move(o.socket_)), consoleOut_(std::exchange(o.consoleOut_, -1)),
      consoleIn_(std::exchange(o.consoleIn_, -1)), console_(std::move(o.console_)) {}

ProcessIO& ProcessIO::operator=(ProcessIO&& o) noexcept {
  if (this != &o) {
    releaseProcessSide();
    closeStdin();
    closeFd(consoleOut_);
    closeFd(consoleIn_);
    stdio_ = std::exchange(o.stdio_, {});
    copier_ = std::move(o.copier_);
    socket_ = std::move(o.socket_);
    consoleOut_ = std::exchange(o.consoleOut_, -1);
    consoleIn_ = std::exchange(o.consoleIn_, -1);
    console_ = std::move(o.console_);
  }
  return *this;
}

ProcessIO::~ProcessIO() {
  releaseProcessSide();
  if (copier_) copier_->close();
  closeFd(consoleOut_);
  closeFd(consoleIn_);
}

}  // namespace berth::shim
