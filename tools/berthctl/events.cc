// `events`: subscribe with an EventSink of ours and print each event as one
// JSON line, flushed at once.
#include "tools/berthctl/commands.h"

#include "common/event_json.h"
#include "common/hand_off.h"

#include <cstdio>

namespace berthctl {

namespace {

class Sink final : public berth::wire::EventSink::Server {
 public:
  explicit Sink(kj::Own<kj::PromiseFulfiller<kj::String>> closed) : closed_(kj::mv(closed)) {}

  kj::Promise<void> publish(PublishContext ctx) override {
    std::string line = berth::eventJsonLine(ctx.getParams().getEvent());
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
    berth::handOffCpu();  // our reader first, then the ack to berthd
    return kj::READY_NOW;
  }

  kj::Promise<void> close(CloseContext ctx) override {
    if (closed_->isWaiting()) closed_->fulfill(kj::str(ctx.getParams().getReason()));
    return kj::READY_NOW;
  }

 private:
  kj::Own<kj::PromiseFulfiller<kj::String>> closed_;
};

}  // namespace

int cmdEvents(const Globals& g, const EventsArgs& a) {
  Client c(g);
  auto paf = kj::newPromiseAndFulfiller<kj::String>();
  auto req = c.api().subscribeRequest();
  req.setSink(kj::heap<Sink>(kj::mv(paf.fulfiller)));
  req.setTopicPrefix(a.topic);
  req.setSince(a.since);
  req.setHasSince(a.hasSince);
  // subscribe may answer at once (with the last seq) or only when the stream
  // ends; either way the stream ends with close(reason) or a disconnect.
  kj::Promise<kj::String> subscribed =
      req.send().then([](auto&&) -> kj::Promise<kj::String> { return kj::NEVER_DONE; },
                      [](kj::Exception&& e) -> kj::Promise<kj::String> {
                        if (e.getType() == kj::Exception::Type::DISCONNECTED)
                          return kj::str("berthd went away");
                        return kj::mv(e);
                      });
  kj::Promise<kj::String> gone = c.connection().onDisconnect().then(
      []() { return kj::str("berthd went away"); },
      [](kj::Exception&&) { return kj::str("berthd went away"); });
  // berthd dropping the sink (it went away) destroys our fulfiller unfulfilled.
  kj::Promise<kj::String> closed =
      paf.promise.catch_([](kj::Exception&&) { return kj::str("berthd went away"); });
  auto reason = c.wait(closed.exclusiveJoin(kj::mv(subscribed)).exclusiveJoin(kj::mv(gone)));
  std::fflush(stdout);
  throw berth::unavailable(std::string(reason.cStr(), reason.size()));
}

}  // namespace berthctl
