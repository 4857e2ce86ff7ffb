#include "common/quiet_timers.h"

#include <chrono>
#include <memory>

namespace berth {

void settleTimerfd(asio::io_context& io) {
  // One per thread (each process has one loop on one thread); re-arming it
  // cancels its previous wait, so it never piles up.
  thread_local std::unique_ptr<asio::steady_timer> far;
  if (!far || &far->get_executor().context() != &io) {
    far = std::make_unique<asio::steady_timer>(io);
  }
  far->expires_after(std::chrono::hours(24));
  far->async_wait([](const boost::system::error_code&) {});
}

}  // namespace berth
