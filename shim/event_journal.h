// The task's events, each with the task's next sequence number, queued until
// the subscriber (berthd) acknowledges it by returning from publish().
//
// Ordering, per task (the one place it is written down; tests check it):
//   create < start < (oom) < exit < delete                 for the init
//   exec-added < exec-started < exit                        for each exec
//   an OOM comes before the exit it caused, and the init's exit is the last
//   exit of its task (exec exits still pending are published first); an
//   init that exits while runc start, pause or resume runs has that event
//   first (a frozen init killed from the host dies at the thaw).
// Events leave in seq order, one publish in flight at a time, so berthd sees
// exactly this order, again after a reconnect (subscribe(afterSeq) replays).
// A publish that fails while the subscriber stays connected (berthd could
// not journal the event: a disk full or failing) is sent again after a
// backoff (0.1 s, doubling to 5 s); a lost connection waits for the next
// subscriber instead.
#pragma once

#include "common/asio.h"
#include "common/retry_backoff.h"

#include "types.capnp.h"

#include <capnp/message.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

namespace berth::shim {

class EventJournal {
 public:
  EventJournal(std::string ns);

  // Fills a new event's payload; seq and timestamp are set here.
  uint64_t emit(const std::function<void(wire::Event::Payload::Builder)>& fill);

  // A new subscriber replaces the old one; events with seq <= afterSeq are
  // dropped as handled.
  void subscribe(wire::EventSink::Client sink, uint64_t afterSeq);

  uint64_t lastSeq() const { return nextSeq_ - 1; }
  size_t queued() const { return queue_.size(); }

  // Calls `fn` once the newest event emitted so far has been acknowledged
  // (or its publish failed, or a new subscriber came), after the next queued
  // event is on its way, and returns true; false, without calling it, when no
  // subscriber is taking events. For work that must not compete with an
  // event on its way (Reaper::deferCountdown).
  bool afterDelivered(std::function<void()> fn);

 private:
  struct Entry {
    uint64_t seq;
    kj::Own<capnp::MallocMessageBuilder> message;
  };
  void pump();
  void dropUpTo(uint64_t seq);
  // Runs the afterDelivered functions waiting for events up to `seq`.
  void delivered(uint64_t seq);

  std::string ns_;
  uint64_t nextSeq_ = 1;
  std::deque<Entry> queue_;
  kj::Maybe<wire::EventSink::Client> sink_;
  uint64_t generation_ = 0;  // bumps on every subscribe: stale acks are ignored
  bool inFlight_ = false;
  RetryBackoff retry_;  // armed: no publish until it fires
  struct Waiter {
    uint64_t seq;  // the event it waits for
    std::function<void()> fn;
  };
  std::vector<Waiter> waiters_;
};

}  // namespace berth::shim
