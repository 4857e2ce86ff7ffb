#include "shim/console.h"

#include "common/errors.h"
#include "common/log.h"
#include "common/unix_socket.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace berth::shim {

ConsoleSocket::ConsoleSocket(asio::io_context& io, std::string path)
    : path_(std::move(path)), forRunc_(path_), acceptor_(listenUnix(io, path_)) {}

ConsoleSocket::~ConsoleSocket() { ::unlink(path_.c_str()); }

asio::awaitable<int> ConsoleSocket::receiveMaster(std::chrono::milliseconds patience) {
  // The timer cancels the accept. Its handler may already be queued when the
  // accept completes, and run after this frame (and the acceptor) are gone:
  // it touches the acceptor only while the accept is still waiting.
  struct Race {
    bool accepting = true;
    bool timedOut = false;
  };
  auto race = std::make_shared<Race>();
  asio::steady_timer timer(acceptor_.get_executor(), patience);
  timer.async_wait([race, acceptor = &acceptor_](const boost::system::error_code& ec) {
    if (ec || !race->accepting) return;
    race->timedOut = true;
    acceptor->cancel();
  });
  asio::local::stream_protocol::socket socket(acceptor_.get_executor());
  boost::system::error_code ec;
  co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
  race->accepting = false;
  timer.cancel();
  if (ec && race->timedOut) throw internal("runc sent no pty master on " + path_ + " (runc has returned)");
  if (ec) throw systemError("accept on console socket " + path_, ec.value());
  co_await socket.async_wait(asio::socket_base::wait_read, asio::use_awaitable);
  // runc sends the pty's name as data and the master as SCM_RIGHTS.
  char name[256];
  iovec iov{name, sizeof(name)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(socket.native_handle(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw systemError("recvmsg on console socket " + path_, errno);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(fd));
      co_return fd;
    }
  }
  throw internal("runc sent no pty master on " + path_);
}

Console::Console(asio::io_context& io, int master, int out, int stdinFifo)
    : master_(io, master) {
  if (out >= 0) {
    // Non-blocking: a FIFO nobody reads must stall this copy, never the loop.
    ::fcntl(out, F_SETFL, ::fcntl(out, F_GETFL) | O_NONBLOCK);
    out_ = std::make_unique<asio::posix::stream_descriptor>(io, out);
  }
  if (stdinFifo >= 0) stdin_ = std::make_unique<asio::posix::stream_descriptor>(io, stdinFifo);
}

Console::~Console() = default;

void Console::start() {
  asio::co_spawn(master_.get_executor(), copyOut(shared_from_this()), asio::detached);
  if (stdin_) asio::co_spawn(master_.get_executor(), copyIn(shared_from_this()), asio::detached);
}

asio::awaitable<void> Console::copyOut(std::shared_ptr<Console> self) {
  std::array<char, 32 * 1024> buf;
  for (;;) {
    boost::system::error_code ec;
    size_t n = co_await self->master_.async_read_some(asio::buffer(buf),
                                                      asio::redirect_error(asio::use_awaitable, ec));
    // EIO: every slave side is closed — the process and its children are gone.
    if (ec) break;
    if (!self->out_) continue;
    co_await asio::async_write(*self->out_, asio::buffer(buf.data(), n),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) self->out_.reset();  // the target is gone: keep draining the pty
  }
  self->markDrained();
}

asio::awaitable<void> Console::copyIn(std::shared_ptr<Console> self) {
  std::array<char, 4096> buf;
  char last = '\n';
  boost::system::error_code ec;
  while (!self->stdinClosed_) {
    size_t n = co_await self->stdin_->async_read_some(asio::buffer(buf),
                                                      asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted && self->stdinClosed_ && !self->closed_) break;
    if (ec == asio::error::eof && !self->closed_) {
      // A regular file's end (a FIFO, which we hold open, has none): the
      // input is over, as after close-stdin.
      self->stdinClosed_ = true;
      break;
    }
    if (ec || self->drained_) co_return;
    co_await asio::async_write(self->master_, asio::buffer(buf.data(), n),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    last = buf[n - 1];
  }
  // closeStdin (or a file's end): what the FIFO holds already goes first,
  // then the EOF.
  if (!self->closed_ && self->stdin_->is_open()) {
    PassedOn rest = co_await passOnBuffered(*self->stdin_, self->master_, asio::buffer(buf));
    if (rest.ec) co_return;
    if (rest.any) last = rest.last;
  }
  self->stdin_->close(ec);
  if (!self->closed_) co_await sendEof(self, last);
}

asio::awaitable<PassedOn> passOnBuffered(asio::posix::stream_descriptor& fifo,
                                         asio::posix::stream_descriptor& out, asio::mutable_buffer buf) {
  PassedOn r;
  auto* data = static_cast<char*>(buf.data());
  for (;;) {
    ssize_t n = ::read(fifo.native_handle(), data, buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: drained
    co_await asio::async_write(out, asio::buffer(data, static_cast<size_t>(n)),
                               asio::redirect_error(asio::use_awaitable, r.ec));
    if (r.ec) break;
    r.any = true;
    r.last = data[n - 1];
  }
  co_return r;
}

asio::awaitable<void> Console::sendEof(std::shared_ptr<Console> self, char lastWritten) {
  // A pty has no half-close: the line discipline's EOF character is it.
  termios t{};
  char eof = 4;  // ^D
  if (::tcgetattr(self->master_.native_handle(), &t) == 0) eof = static_cast<char>(t.c_cc[VEOF]);
  const char eofs[2] = {eof, eof};
  boost::system::error_code ec;
  co_await asio::async_write(self->master_, asio::buffer(eofs, lastWritten == '\n' ? 1 : 2),
                             asio::redirect_error(asio::use_awaitable, ec));
}

void Console::resize(unsigned width, unsigned height) {
  if (closed_) throw failedPrecondition("the process's terminal is closed: it has exited");
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(width);
  ws.ws_row = static_cast<unsigned short>(height);
  if (::ioctl(master_.native_handle(), TIOCSWINSZ, &ws) != 0) {
    throw systemError("ioctl(TIOCSWINSZ)", errno);
  }
}

void Console::closeStdin() {
  if (stdinClosed_) return;
  stdinClosed_ = true;
  if (closed_) return;  // the pty is gone with the process
  if (stdin_) {
    // copyIn passes on what the FIFO holds, then sends the EOF.
    boost::system::error_code ignored;
    stdin_->cancel(ignored);
    return;
  }
  asio::co_spawn(master_.get_executor(), sendEof(shared_from_this(), '\n'), asio::detached);
}

void Console::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  if (stdin_) stdin_->close(ignored);
  master_.close(ignored);
  // A copy still waiting to write to a target nobody reads (a full FIFO)
  // ends now, and with it this console: we gave up on the output.
  if (out_) out_->close(ignored);
}

void Console::whenDrained(std::function<void()> fn) {
  if (drained_) {
    fn();
    return;
  }
  drainWaiters_.push_back(std::move(fn));
}

void Console::markDrained() {
  drained_ = true;
  // No slave side is open any more: the output is over. Its reader
  // (berthctl's FIFO) sees EOF now, and the stdin copy, which holds this
  // Console, ends instead of waiting on a FIFO whose writer may stay open
  // for good. The master stays until close(): a process that moved its
  // stdio elsewhere may still run, and the master's last close would hang
  // up its controlling terminal (SIGHUP).
  boost::system::error_code ignored;
  if (out_) out_->close(ignored);
  out_.reset();
  if (stdin_) stdin_->close(ignored);
  auto waiters = std::move(drainWaiters_);
  for (auto& w : waiters) w();
}

}  // namespace berth::shim
