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

struct OffLoopJob::State {
  explicit State(asio::any_io_executor loop) : doneSignal(loop) {
    doneSignal.expires_at(asio::steady_timer::time_point::max());
  }
  bool done = false;
  std::exception_ptr error;
  asio::steady_timer doneSignal;  // cancelled when the job is done
};

OffLoopJob::OffLoopJob(asio::any_io_executor loop, std::function<void()> blocking)
    : state_(std::make_shared<State>(loop)) {
  asio::co_spawn(loop, offLoop(std::move(blocking)), [state = state_](std::exception_ptr e) {
    state->done = true;
    state->error = e;
    state->doneSignal.cancel();
  });
}

asio::awaitable<void> OffLoopJob::wait() {
  auto state = state_;
  if (!state->done) {
    boost::system::error_code ignored;
    co_await state->doneSignal.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  if (state->error) std::rethrow_exception(state->error);
}

}  // namespace berth
