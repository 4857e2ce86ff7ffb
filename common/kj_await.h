// The bridge between KJ promises and Asio C++20 coroutines, both ways.
//
//   co_await awaitKj(promise)      — an Asio coroutine waits on a KJ promise
//   spawnKj(coroutine())           — a KJ caller (an RPC method) waits on a coroutine
//
// Completions hop through asio::post so a coroutine never resumes inside a KJ
// turn, and KJ continuations never run inside an Asio handler of ours.
#pragma once

#include "common/asio.h"
#include "common/errors.h"
#include "common/kj_loop.h"

#include <kj/async.h>

#include <exception>
#include <memory>
#include <optional>

namespace berth {

template <typename T>
asio::awaitable<T> awaitKj(kj::Promise<T> promise) {
  KjLoop& loop = KjLoop::current();
  auto result = co_await asio::async_initiate<const asio::use_awaitable_t<>&,
                                              void(std::exception_ptr, std::optional<T>)>(
      [&loop](auto handler, kj::Promise<T> p) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        loop.detach(p.then(
                        [h, &loop](T&& value) {
                          asio::post(loop.io(), [h, v = std::make_shared<T>(kj::mv(value))]() {
                            (*h)(nullptr, std::optional<T>(kj::mv(*v)));
                          });
                        },
                        [h, &loop](kj::Exception&& e) {
                          auto err = std::make_exception_ptr(fromKjException(e));
                          asio::post(loop.io(), [h, err]() { (*h)(err, std::nullopt); });
                        }),
                    "awaitKj");
      },
      asio::use_awaitable, std::move(promise));
  co_return std::move(*result);
}

inline asio::awaitable<void> awaitKj(kj::Promise<void> promise) {
  KjLoop& loop = KjLoop::current();
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(
      [&loop](auto handler, kj::Promise<void> p) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        loop.detach(p.then([h, &loop]() { asio::post(loop.io(), [h]() { (*h)(nullptr); }); },
                           [h, &loop](kj::Exception&& e) {
                             auto err = std::make_exception_ptr(fromKjException(e));
                             asio::post(loop.io(), [h, err]() { (*h)(err); });
                           }),
                    "awaitKj");
      },
      asio::use_awaitable, std::move(promise));
}

// Runs `coroutine` on the loop's io_context; the promise settles with its
// result. Dropping the promise does not stop the coroutine (Boost 1.74 has no
// per-operation cancellation), so a coroutine must own everything it touches:
// copy request fields into plain values before the first co_await.
template <typename T>
kj::Promise<T> spawnKj(asio::awaitable<T> coroutine) {
  KjLoop& loop = KjLoop::current();
  auto paf = kj::newPromiseAndFulfiller<T>();
  // asio handlers must be copyable in places; kj::Own is not, so share it.
  struct Holder {
    kj::Own<kj::PromiseFulfiller<T>> own;
  };
  auto holder = std::make_shared<Holder>(Holder{kj::mv(paf.fulfiller)});
  asio::co_spawn(loop.io(), std::move(coroutine),
                 [holder](std::exception_ptr e, T value) {
                   if (e) {
                     holder->own->reject(toKjException(e));
                   } else {
                     holder->own->fulfill(kj::mv(value));
                   }
                 });
  return kj::mv(paf.promise);
}

inline kj::Promise<void> spawnKj(asio::awaitable<void> coroutine) {
  KjLoop& loop = KjLoop::current();
  auto paf = kj::newPromiseAndFulfiller<void>();
  struct Holder {
    kj::Own<kj::PromiseFulfiller<void>> own;
  };
  auto holder = std::make_shared<Holder>(Holder{kj::mv(paf.fulfiller)});
  asio::co_spawn(loop.io(), std::move(coroutine), [holder](std::exception_ptr e) {
    if (e) {
      holder->own->reject(toKjException(e));
    } else {
      holder->own->fulfill();
    }
  });
  return kj::mv(paf.promise);
}

}  // namespace berth
