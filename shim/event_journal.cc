#include "shim/event_journal.h"

#include "common/kj_loop.h"
#include "common/log.h"
#include "common/timeutil.h"

namespace berth::shim {

EventJournal::EventJournal(std::string ns) : ns_(std::move(ns)) {}

uint64_t EventJournal::emit(const std::function<void(wire::Event::Payload::Builder)>& fill) {
  auto message = kj::heap<capnp::MallocMessageBuilder>(256);
  auto event = message->initRoot<wire::Event>();
  uint64_t seq = nextSeq_++;
  event.setSeq(seq);
  event.setTimestampNs(nowNs());
  event.setNamespace(ns_);
  fill(event.getPayload());
  queue_.push_back({seq, kj::mv(message)});
  pump();
  return seq;
}

bool EventJournal::afterDelivered(std::function<void()> fn) {
  if (!inFlight_) return false;
  waiters_.push_back({lastSeq(), std::move(fn)});
  return true;
}

void EventJournal::delivered(uint64_t seq) {
  std::vector<Waiter> due;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->seq <= seq) {
      due.push_back(std::move(*it));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& w : due) w.fn();
}

void EventJournal::subscribe(wire::EventSink::Client sink, uint64_t afterSeq) {
  delivered(UINT64_MAX);  // the old subscriber's acks will not come
  dropUpTo(afterSeq);
  // A subscriber that has handled seqs we never gave out (it cannot today:
  // one shim per task incarnation) would drop our next events as repeats,
  // exits among them: number on from past what it has.
  if (afterSeq >= nextSeq_) nextSeq_ = afterSeq + 1;
  sink_ = kj::mv(sink);
  ++generation_;
  inFlight_ = false;
  retry_.reset();
  pump();
}

void EventJournal::dropUpTo(uint64_t seq) {
  while (!queue_.empty() && queue_.front().seq <= seq) queue_.pop_front();
}

void EventJournal::pump() {
  if (inFlight_ || retry_.armed() || queue_.empty()) return;
  KJ_IF_MAYBE(sink, sink_) {
    inFlight_ = true;
    auto& entry = queue_.front();
    uint64_t seq = entry.seq;
    uint64_t gen = generation_;
    // Sized to the event: without a hint the request's first segment is
    // capnp's default 8 KiB, zeroed on the exit's path.
    auto event = entry.message->getRoot<wire::Event>().asReader();
    auto req = sink->publishRequest(event.totalSize());
    req.setEvent(event);
    KjLoop::current().detach(
        req.send().then(
            [this, seq, gen](auto&&) {
              if (gen != generation_) return;
              dropUpTo(seq);  // acknowledged
              inFlight_ = false;
              retry_.reset();
              pump();
              delivered(seq);
            },
            [this, gen](kj::Exception&& e) {
              if (gen != generation_) return;
              delivered(UINT64_MAX);
              inFlight_ = false;
              if (e.getType() != kj::Exception::Type::DISCONNECTED) {
                // berthd is there but did not take it: the same event again, later.
                BERTH_LOG(warn) << "event subscriber refused an event (" << e.getDescription().cStr()
                                << "); " << queue_.size() << " events kept, retrying";
                retry_.schedule([this] { pump(); });  // the front event again
                return;
              }
              // Keep the event: the next subscriber gets it again.
              BERTH_LOG(info) << "event subscriber gone (" << e.getDescription().cStr()
                              << "); " << queue_.size() << " events kept";
              sink_ = nullptr;
            }),
        "publish event");
  }
}

}  // namespace berth::shim
