#include "manager/off_loop.h"

#include "common/done_signal.h"

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

struct OffLoopJob::State {
  explicit State(const asio::any_io_executor& loop) : done(loop) {}
  DoneSignal done;
  std::exception_ptr error;
};

OffLoopJob::OffLoopJob(asio::any_io_executor loop, std::function<void()> blocking)
    : state_(std::make_shared<State>(loop)) {
  // Tracked: the loop counts the job as work until it has come back.
  auto home = asio::prefer(loop, asio::execution::outstanding_work.tracked);
  asio::post(worker(), [state = state_, home, blocking = std::move(blocking)] {
    std::exception_ptr error;
    try {
      blocking();
    } catch (...) {
      error = std::current_exception();
    }
    // Back on the loop: the state is the loop's to touch.
    asio::post(home, [state, error] {
      state->error = error;
      state->done.set();
    });
  });
}

asio::awaitable<void> OffLoopJob::wait() {
  auto state = state_;
  co_await state->done.wait();
  if (state->error) std::rethrow_exception(state->error);
}

}  // namespace berth
