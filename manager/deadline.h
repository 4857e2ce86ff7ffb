// A deadline for a KJ promise, timed by Asio: the promise is raced against a
// steady_timer; whichever settles first wins and the other is dropped (a
// dropped RPC call is cancelled: capnp sends Finish).
#pragma once

#include "common/asio.h"
#include "common/errors.h"
#include "common/kj_loop.h"

#include <kj/async.h>

#include <chrono>
#include <memory>
#include <string>

namespace berth {

// On time-out the promise rejects with unavailable(onTimeout).
template <typename T>
kj::Promise<T> withDeadline(kj::Promise<T> promise, std::chrono::milliseconds deadline,
                            std::string onTimeout) {
  auto paf = kj::newPromiseAndFulfiller<T>();
  struct Holder {
    kj::Own<kj::PromiseFulfiller<T>> fulfiller;
  };
  auto holder = std::make_shared<Holder>(Holder{kj::mv(paf.fulfiller)});
  auto timer = std::make_shared<asio::steady_timer>(KjLoop::current().io(), deadline);
  timer->async_wait([holder, message = std::move(onTimeout)](const boost::system::error_code& ec) {
    if (ec) return;
    if (holder->fulfiller->isWaiting()) holder->fulfiller->reject(toKjException(unavailable(message)));
  });
  return promise.exclusiveJoin(kj::mv(paf.promise)).attach(kj::defer([timer]() { timer->cancel(); }));
}

}  // namespace berth
