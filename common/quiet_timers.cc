#include "common/quiet_timers.h"

#include <chrono>

namespace berth {

namespace {

// The far-off timer, one per io_context and gone with it: a service of the
// context. (A thread_local timer outlived its context when a thread ran one
// context after another, as tests do, and the next settle touched the freed
// reactor.)
class FarTimer final : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;

  explicit FarTimer(asio::execution_context& context)
      : service(context), timer_(static_cast<asio::io_context&>(context)) {}

  // Re-arming it cancels its previous wait, so it never piles up.
  void rearm() {
    timer_.expires_after(std::chrono::hours(24));
    timer_.async_wait([](const boost::system::error_code&) {});
  }

 private:
  void shutdown() override {}  // the timer's own service drops the pending wait

  asio::steady_timer timer_;
};

asio::execution_context::id FarTimer::id;

}  // namespace

void settleTimerfd(asio::io_context& io) { asio::use_service<FarTimer>(io).rearm(); }

}  // namespace berth
