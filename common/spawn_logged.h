// Running a coroutine in the background on an Asio loop, where nobody awaits
// it: its failure is logged (error: "WHAT: message"), never lost silently.
#pragma once

#include "common/asio.h"
#include "common/log.h"

#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

namespace berth {

// `done`, if given, runs when the coroutine ends, whichever way. Its result,
// if it has one, is dropped.
template <typename T>
void spawnLogged(asio::io_context& io, asio::awaitable<T> coroutine, std::string what,
                 std::function<void()> done = {}) {
  auto finish = [what = std::move(what), done = std::move(done)](std::exception_ptr e) {
    if (done) done();
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      BERTH_LOG(error) << what << ": " << ex.what();
    }
  };
  if constexpr (std::is_void_v<T>) {
    asio::co_spawn(io, std::move(coroutine), std::move(finish));
  } else {
    asio::co_spawn(io, std::move(coroutine), [finish = std::move(finish)](std::exception_ptr e, T) { finish(e); });
  }
}

}  // namespace berth
