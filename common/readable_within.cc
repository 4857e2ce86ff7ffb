#include "common/readable_within.h"

#include "common/quiet_timers.h"

#include <memory>
#include <optional>

namespace berth {

asio::awaitable<bool> readableWithin(asio::posix::stream_descriptor& descriptor,
                                     std::chrono::steady_clock::duration timeout) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, timeout);
  bool readable = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(bool)>(
      [&descriptor, &timer](auto handler) {
        using Handler = decltype(handler);
        auto pending = std::make_shared<std::optional<Handler>>(std::move(handler));
        // Runs once: the losing wait's handler finds `pending` empty.
        auto finish = [pending, &descriptor, &timer](bool readable) {
          if (!*pending) return;
          Handler h = std::move(**pending);
          pending->reset();
          boost::system::error_code ignored;
          descriptor.cancel(ignored);
          timer.cancel();
          std::move(h)(readable);
        };
        descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                              [finish](const boost::system::error_code& ec) mutable { finish(!ec); });
        timer.async_wait([finish](const boost::system::error_code&) mutable { finish(false); });
      },
      asio::use_awaitable);
  settleTimerfd(static_cast<asio::io_context&>(executor.context()));
  co_return readable;
}

}  // namespace berth
