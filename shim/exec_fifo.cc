#include "shim/exec_fifo.h"

#include "common/errors.h"
#include "common/readable_within.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace berth::shim {

namespace {
constexpr std::chrono::milliseconds kCheckEvery{100};
}  // namespace

asio::awaitable<bool> startThroughExecFifo(const std::string& fifo, std::function<bool()> initGone,
                                           std::chrono::milliseconds deadline) {
  auto executor = co_await asio::this_coro::executor;
  // Non-blocking: the open must not wait for the writer, and epoll reports
  // nothing on this end until a writer has come (no early hang-up).
  int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) co_return false;
  if (fd < 0) throw systemError("open " + fifo, errno);
  asio::posix::stream_descriptor end(executor, fd);
  auto give_up = std::chrono::steady_clock::now() + deadline;
  bool released = false;  // the init wrote its byte
  for (;;) {
    char byte;
    ssize_t n = ::read(fd, &byte, 1);
    if (n == 1) {
      released = true;
      continue;
    }
    // After the byte, end of file: the init's end is closed, by its exec
    // (close-on-exec) or, in runc 1.1.12 and later, by hand just before it;
    // either way the exec is at most moments away (exec_wait.h waits for it).
    if (n == 0 && released) break;
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw systemError("read " + fifo, errno);
    // n == 0: no writer (yet, or it left without writing); EAGAIN: a writer
    // that has not written yet, or not closed yet.
    if (!released && initGone()) throw failedPrecondition(kInitDeadBeforeStart);
    if (std::chrono::steady_clock::now() >= give_up) {
      throw internal("start: the container's init did not take the exec fifo " + fifo + " within " +
                     std::to_string(deadline.count() / 1000) + " s");
    }
    co_await readableWithin(end, kCheckEvery);
  }
  // Removing the fifo is what makes runc report the container as running.
  if (::unlink(fifo.c_str()) != 0 && errno != ENOENT) throw systemError("unlink " + fifo, errno);
  co_return true;
}

}  // namespace berth::shim
