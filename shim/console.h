// Terminals: runc allocates the pty and sends its master to us over a unix
// socket (--console-socket, SCM_RIGHTS); we copy the master's output to the
// process's stdout target and the stdin FIFO into the master, set its window
// size, and tell when the output is drained (the exit is reported after).
#pragma once

#include "common/asio.h"
#include "common/unix_socket.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace berth::shim {

// A listening socket runc connects to once, to hand over the pty master.
class ConsoleSocket {
 public:
  ConsoleSocket(asio::io_context& io, std::string path);
  ~ConsoleSocket();
  // The path runc is given: reachable however long the state dir makes it.
  std::string path() const { return forRunc_.forOthers(); }
  // Accepts runc's connection and receives the master fd. It arrives while
  // `runc create/exec` runs, so once runc has returned it is there or never
  // comes: after `patience` this throws (internal) instead of waiting on.
  asio::awaitable<int> receiveMaster(std::chrono::milliseconds patience);

 private:
  std::string path_;
  SocketPath forRunc_;
  asio::local::stream_protocol::acceptor acceptor_;
};

// What a stdin FIFO holds right now, passed on to `out` without waiting for
// more: what was written before a close-stdin, which then ends the input.
// `fifo` is non-blocking. The result: the write's error, if any, and the last
// byte passed on (`any`: whether there was one).
struct PassedOn {
  boost::system::error_code ec;
  bool any = false;
  char last = 0;
};
asio::awaitable<PassedOn> passOnBuffered(asio::posix::stream_descriptor& fifo,
                                         asio::posix::stream_descriptor& out, asio::mutable_buffer buf);

class Console : public std::enable_shared_from_this<Console> {
 public:
  // Takes ownership of `master`, `out` and `stdinFifo` (-1: none).
  Console(asio::io_context& io, int master, int out, int stdinFifo);
  ~Console();

  void start();
  void resize(unsigned width, unsigned height);
  // EOF for the process: the terminal's end-of-file character, after what
  // was already written into the stdin FIFO (closeIO right after a write
  // must not lose the write), twice if that ended mid-line (the first only
  // ends the line).
  void closeStdin();
  bool drained() const { return drained_; }
  // The process has exited (and its output drained): closes the pty master.
  void close();
  // Calls `fn` once the output copy has ended (at once if it has).
  void whenDrained(std::function<void()> fn);

 private:
  static asio::awaitable<void> copyOut(std::shared_ptr<Console> self);
  static asio::awaitable<void> copyIn(std::shared_ptr<Console> self);
  // Writes the EOF character(s) behind what was written before.
  static asio::awaitable<void> sendEof(std::shared_ptr<Console> self, char lastWritten);
  void markDrained();

  asio::posix::stream_descriptor master_;
  std::unique_ptr<asio::posix::stream_descriptor> out_;  // a file or a FIFO
  std::unique_ptr<asio::posix::stream_descriptor> stdin_;
  bool drained_ = false;
  bool stdinClosed_ = false;
  bool closed_ = false;  // the master, by close()
  std::vector<std::function<void()>> drainWaiters_;
};

}  // namespace berth::shim
