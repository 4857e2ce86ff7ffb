#include "manager/off_loop.h"

#include <boost/asio/thread_pool.hpp>

#include <pthread.h>
#include <signal.h>

#include <exception>

namespace berth {

namespace {

// Made on first use, with every signal blocked: SIGCHLD is read from a
// signalfd, and a thread that left it unblocked would take it instead.
asio::thread_pool& worker() {
  static asio::thread_pool* pool = [] {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    auto* p = new asio::thread_pool(1);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return p;
  }();
  return *pool;
}

}  // namespace

asio::awaitable<void> offLoop(std::function<void()> blocking) {
  // Tracked: the loop counts the job as work until it has come back.
  auto home = asio::prefer(co_await asio::this_coro::executor, asio::execution::outstanding_work.tracked);
  std::exception_ptr error;
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
      [&](auto resume) {
        asio::post(worker(), [&blocking, &error, home, resume = std::move(resume)]() mutable {
          try {
            blocking();
          } catch (...) {
            error = std::current_exception();
          }
          asio::post(home, std::move(resume));
        });
      },
      asio::use_awaitable);
  if (error) std::rethrow_exception(error);
}

}  // namespace berth
