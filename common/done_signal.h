// A one-shot signal on an Asio loop: wait() returns once set() has been
// called (at once if it already was). Held by shared_ptr by whoever sets it
// and whoever waits, so that either may outlive the other: berthd's
// OffLoopJob (set when the worker's call is back), the shim's create (set
// however it ends, for a start sent right behind it), a child's exit the
// reaper was told to expect.
#pragma once

#include "common/asio.h"

namespace berth {

class DoneSignal {
 public:
  explicit DoneSignal(const asio::any_io_executor& loop) : timer_(loop, asio::steady_timer::time_point::max()) {}

  void set() {
    done_ = true;
    timer_.cancel();
  }
  bool done() const { return done_; }

  // The caller keeps the signal alive until it returns.
  asio::awaitable<void> wait() {
    if (done_) co_return;
    boost::system::error_code ignored;  // cancelled: set() was called
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }

 private:
  asio::steady_timer timer_;  // never expires; cancelled by set()
  bool done_ = false;
};

}  // namespace berth
