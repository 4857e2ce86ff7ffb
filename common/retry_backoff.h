// A retry after a backoff that doubles while attempts keep failing: 0.1 s,
// 0.2 s, ... up to 5 s. For a publish the other side refused (the shim's
// events to a berthd that cannot journal them; berthd's own events to its
// journal): tried again without flooding, and soon once it takes them.
#pragma once

#include "common/asio.h"
#include "common/kj_loop.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>

namespace berth {

class RetryBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{100};
  static constexpr std::chrono::milliseconds kMost{5000};

  ~RetryBackoff() { *alive_ = false; }

  // Runs `retry` after the next delay (kFirst, then twice the last, at most
  // kMost), on the loop; nothing if a retry is already armed.
  void schedule(std::function<void()> retry) {
    if (armed_) return;
    delay_ = delay_.count() == 0 ? kFirst : std::min(delay_ * 2, kMost);
    if (!timer_) timer_ = std::make_unique<asio::steady_timer>(KjLoop::current().io());
    timer_->expires_after(delay_);
    armed_ = true;
    timer_->async_wait([this, alive = alive_, generation = generation_,
                        retry = std::move(retry)](const boost::system::error_code& ec) {
      if (ec || !*alive || generation != generation_) return;
      armed_ = false;
      retry();
    });
  }
  // It worked (or starts afresh): an armed retry is dropped, and the next
  // delay is kFirst again.
  void reset() {
    ++generation_;  // (a retry whose handler is already queued is dropped too)
    armed_ = false;
    delay_ = std::chrono::milliseconds(0);
    if (timer_) timer_->cancel();
  }
  bool armed() const { return armed_; }

 private:
  std::unique_ptr<asio::steady_timer> timer_;
  std::chrono::milliseconds delay_{0};
  bool armed_ = false;
  uint64_t generation_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth
