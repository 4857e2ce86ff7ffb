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

bool EventJournal::afterInFlight(std::function<void()> fn) {
  if (!inFlight_) return false;
  afterInFlight_.push_back(std::move(fn));
  return true;
}

void EventJournal::settled() {
  for (auto& fn : std::exchange(afterInFlight_, {})) fn();
}

void EventJournal::subscribe(wire::EventSink::Client sink, uint64_t afterSeq) {
  settled();
  dropUpTo(afterSeq);
  sink_ = kj::mv(sink);
  ++generation_;
  inFlight_ = false;
  pump();
}

void EventJournal::dropUpTo(uint64_t seq) {
  while (!queue_.empty() && queue_.front().seq <= seq) queue_.pop_front();
}

void EventJournal::pump() {
  if (inFlight_ || queue_.empty()) return;
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
              settled();
              if (gen != generation_) return;
              dropUpTo(seq);  // acknowledged
              inFlight_ = false;
              pump();
            },
            [this, gen](kj::Exception&& e) {
              settled();
              if (gen != generation_) return;
              // Keep the event: the next subscriber gets it again.
              BERTH_LOG(info) << "event subscriber gone (" << e.getDescription().cStr()
                              << "); " << queue_.size() << " events kept";
              sink_ = nullptr;
              inFlight_ = false;
            }),
        "publish event");
  }
}

}  // namespace berth::shim
