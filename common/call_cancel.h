// A caller that went away cancels the wait it was answered by.
//
// Dropping a KJ promise made from a coroutine (spawnKj) does not stop the
// coroutine (Boost 1.74 has no per-operation cancellation). For calls that
// last as long as a process, that left one coroutine, one pending RPC to the
// shim and one waiter there per client that gave up (`timeout 2 berthctl
// wait`: ~11 KiB in berthd and ~6 in the shim each, for as long as the
// process ran). The API handler attaches fire() to the promise it returns,
// and the coroutine awaits its long call through orCancelled(): when the
// client goes, the call is dropped (capnp tells the shim) and the coroutine
// ends.
#pragma once

#include "common/errors.h"

#include <kj/async.h>

#include <memory>

namespace berth {

class CallCancel {
 public:
  CallCancel() {
    auto paf = kj::newPromiseAndFulfiller<void>();
    fulfiller_ = kj::mv(paf.fulfiller);
    fired_ = paf.promise.fork();
  }

  // The caller is gone (or done): whatever still waits through this ends.
  void fire() {
    fired_now_ = true;
    if (fulfiller_->isWaiting()) fulfiller_->reject(toKjException(unavailable("the caller went away")));
  }
  bool fired() const { return fired_now_; }

  // PROMISE, or a rejection once fire() is called, whichever comes first.
  template <typename T>
  kj::Promise<T> orCancelled(kj::Promise<T> promise) {
    return promise.exclusiveJoin(fired_.addBranch().then([]() -> kj::Promise<T> {
      return toKjException(internal("a call cancel was fulfilled"));  // (only ever rejected)
    }));
  }

 private:
  kj::Own<kj::PromiseFulfiller<void>> fulfiller_;
  kj::ForkedPromise<void> fired_ = nullptr;
  bool fired_now_ = false;
};

// What a handler returns: PROMISE, which fires CANCEL when dropped.
template <typename T>
kj::Promise<T> cancelledWhenDropped(kj::Promise<T> promise, std::shared_ptr<CallCancel> cancel) {
  return promise.attach(kj::defer([cancel = kj::mv(cancel)] { cancel->fire(); }));
}

}  // namespace berth
