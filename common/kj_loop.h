// Cap'n Proto's KJ event loop, run inside Boost.Asio's io_context.
//
// Asio owns the only loop of the process. KJ tells us through EventPort::setRunnable
// when it has queued work; we then post one handler to Asio that runs KJ's queue.
// No second thread, no polling: an idle process sleeps in epoll_wait.
#pragma once

#include "common/asio.h"

#include <kj/async.h>
#include <kj/debug.h>

#include <memory>

namespace berth {

class KjLoop {
 public:
  explicit KjLoop(asio::io_context& io);
  ~KjLoop();
  KjLoop(const KjLoop&) = delete;
  KjLoop& operator=(const KjLoop&) = delete;

  asio::io_context& io() { return io_; }
  kj::WaitScope& waitScope() { return waitScope_; }

  // Keeps a background promise alive; a failure is logged, not thrown.
  void detach(kj::Promise<void> promise, const char* what);

  // The loop of this thread (there is exactly one per process).
  static KjLoop& current();

 private:
  class Port;
  class ErrorLogger;

  asio::io_context& io_;
  std::unique_ptr<Port> port_;
  kj::EventLoop loop_;
  kj::WaitScope waitScope_;
  std::unique_ptr<ErrorLogger> errorLogger_;
  kj::Own<kj::TaskSet> tasks_;
};

}  // namespace berth
