// Waiting for a descriptor to turn readable, for at most a while.
#pragma once

#include "common/asio.h"

#include <chrono>

namespace berth {

// True once `descriptor` is readable (or hung up); false when `timeout`
// passes first. The other wait is cancelled, and its handler, should it be
// queued already, touches nothing (the descriptor may be gone by then); the
// timerfd is left settled (quiet_timers.h).
asio::awaitable<bool> readableWithin(asio::posix::stream_descriptor& descriptor,
                                     std::chrono::steady_clock::duration timeout);

}  // namespace berth
