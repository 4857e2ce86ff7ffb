// `events`: subscribe with an EventSink of ours and print each event as one
// JSON line, flushed at once.
#include "tools/berthctl/commands.h"
#include "tools/berthctl/json_out.h"

#include "common/event_json.h"
#include "common/hand_off.h"

#include <cerrno>
#include <cstdio>

namespace berthctl {

namespace {

class Sink final : public berth::wire::EventSink::Server {
 public:
  Sink(kj::Own<kj::PromiseFulfiller<kj::String>> closed, int& writeErrno)
      : closed_(kj::mv(closed)), writeErrno_(writeErrno) {}

  kj::Promise<void> publish(PublishContext ctx) override {
    std::string line = berth::eventJsonLine(ctx.getParams().getEvent());
    line += '\n';
    if (!writeStdout(line)) {
      // Our reader is gone (SIGPIPE ignored) or the disk is full: the
      // stream ends here, as `events | head -1` expects.
      writeErrno_ = errno ? errno : EIO;
      if (closed_->isWaiting()) closed_->fulfill(kj::str("stdout failed"));
      return kj::READY_NOW;
    }
    berth::handOffCpu();  // our reader first, then the ack to berthd
    return kj::READY_NOW;
  }

  kj::Promise<void> close(CloseContext ctx) override {
    if (closed_->isWaiting()) closed_->fulfill(kj::str(ctx.getParams().getReason()));
    return kj::READY_NOW;
  }

 private:
  kj::Own<kj::PromiseFulfiller<kj::String>> closed_;
  int& writeErrno_;
};

}  // namespace

int cmdEvents(const Globals& g, const EventsArgs& a) {
  Client c(g);
  auto paf = kj::newPromiseAndFulfiller<kj::String>();
  auto req = c.api().subscribeRequest();
  int writeErrno = 0;
  req.setSink(kj::heap<Sink>(kj::mv(paf.fulfiller), writeErrno));
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
  if (writeErrno != 0) throw berth::systemError("writing events to stdout", writeErrno);
  std::fflush(stdout);
  throw berth::unavailable(std::string(reason.cStr(), reason.size()));
}

}  // namespace berthctl
