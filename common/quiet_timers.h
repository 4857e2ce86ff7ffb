// Cancelling an Asio timer does not re-arm the reactor's timerfd (Boost 1.74,
// epoll): the loop still wakes at the cancelled timer's expiry. A process
// that must sleep when idle (the shim) calls this after cancelling a timer:
// it schedules one far-off timer, which makes Asio recompute the timerfd
// from the timers still pending (or its 5-minute ceiling when none are).
#pragma once

#include "common/asio.h"

namespace berth {

void settleTimerfd(asio::io_context& io);

}  // namespace berth
