#include "manager/event_exchange.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/hand_off.h"
#include "common/kj_loop.h"
#include "common/log.h"
#include "manager/crash_point.h"
#include "manager/task_record.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <sstream>

namespace berth {

namespace {
// journaled_'s key: one incarnation of one task.
std::string journalKey(const std::string& ns, const std::string& id, int64_t incarnation) {
  return ns + "/" + id + "/" + std::to_string(incarnation);
}
}  // namespace

struct EventExchange::Subscriber {
  uint64_t id = 0;
  wire::EventSink::Client sink;
  std::string prefix;
  // Retained events to replay first, then live ones; only `live` is bounded.
  std::deque<std::shared_ptr<const TaskEvent>> replay;
  std::deque<std::shared_ptr<const TaskEvent>> live;
  bool inFlight = false;
  bool closed = false;

  explicit Subscriber(wire::EventSink::Client s) : sink(kj::mv(s)) {}
  bool wants(const TaskEvent& ev) const {
    return isKnownTopic(ev.topic) && ev.topic.compare(0, prefix.size(), prefix) == 0;
  }
};

// The EventSink a shim publishes to.
class EventExchange::ShimSink final : public wire::EventSink::Server {
 public:
  ShimSink(EventExchange& exchange, std::weak_ptr<EventOrigin> origin, std::shared_ptr<bool> alive)
      : exchange_(exchange), origin_(std::move(origin)), alive_(std::move(alive)) {}

  kj::Promise<void> publish(PublishContext ctx) override {
    if (!*alive_) return kj::READY_NOW;
    TaskEvent ev = eventFromWire(ctx.getParams().getEvent());
    auto origin = origin_.lock();
    if (!origin) {
      // The task is gone from berthd (deleted); nothing to record it against.
      BERTH_LOG(debug) << "event " << ev.topic << " of a task berthd no longer has; acknowledged";
      return kj::READY_NOW;
    }
    ShimEventResult result;
    try {
      result = exchange_.handleShimEvent(origin, std::move(ev));
    } catch (const Error& e) {
      throw toKjException(e);
    }
    if (result == ShimEventResult::Dropped) return kj::READY_NOW;
    // The record's save, and with it the ack, one turn later: the fan-out's
    // messages (their writes armed depth-first, ahead of this breadth-first
    // event) reach the subscribers before berthd spends time on the record,
    // and the subscribers they woke on this CPU run first (handOffCpu).
    // The journal already has the event, so a crash in between loses nothing.
    return kj::evalLater([origin, sent = result == ShimEventResult::Sent] {
      if (sent) handOffCpu();
      origin->saveHandledSeq();
    });
  }

  kj::Promise<void> close(CloseContext ctx) override {
    auto origin = origin_.lock();
    BERTH_LOG(info) << "shim of " << (origin ? origin->originNamespace() + "/" + origin->originId() : "?")
                    << " closed its event stream: " << ctx.getParams().getReason().cStr();
    return kj::READY_NOW;
  }

 private:
  EventExchange& exchange_;
  std::weak_ptr<EventOrigin> origin_;
  std::shared_ptr<bool> alive_;
};

EventExchange::EventExchange(std::string journalPath, size_t queueLimit)
    : path_(std::move(journalPath)), queueLimit_(queueLimit == 0 ? kQueueLimit : queueLimit) {}

EventExchange::~EventExchange() {
  *alive_ = false;
  if (fd_ >= 0) ::close(fd_);
}

void EventExchange::load() {
  // (no size limit: a journal that rotation could not shrink is still read)
  auto text = readFile(path_, std::numeric_limits<size_t>::max());
  if (text) {
    std::istringstream in(*text);
    std::string line;
    size_t broken = 0;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ++fileLines_;
      try {
        auto ev = std::make_shared<const TaskEvent>(fromJournalLine(line));
        if (ev->seq > lastSeq_) lastSeq_ = ev->seq;
        retained_.push_back(ev);
        if (ev->incarnation != 0) {
          auto& j = journaled_[journalKey(ev->ns, ev->taskId, ev->incarnation)];
          j.any = true;
          if (ev->shimSeq > j.lastShimSeq) j.lastShimSeq = ev->shimSeq;
          if (processIdOf(*ev) == ev->taskId) {
            if (ev->topic == topics::kExit) j.initExit = exitOfEvent(*ev);
            if (ev->topic == topics::kDelete) j.initDeleted = true;
          }
          if (ev->topic == topics::kStart) j.initStarted = true;  // the init's alone (execs': exec-started)
          if (uint32_t pid = pidOf(*ev)) j.initPid = pid;              // create's and start's
        }
      } catch (const std::exception&) {
        ++broken;  // a torn last line from a crash; its event was never acked
      }
    }
    while (retained_.size() > kRotateAt) retained_.pop_front();
    if (broken) {
      BERTH_LOG(warn) << path_ << ": skipped " << broken << " broken line(s)";
    }
  }
  uint64_t ceiling = 0;
  if (auto text = readFile(path_ + ".seq", 64)) {
    // digits alone, and far from wrapping: anything else is mangled
    size_t digits = text->find_first_not_of("0123456789");
    if (digits == 0 || digits > 18 || (digits != std::string::npos && text->find_first_not_of(" \n", digits) !=
                                                                          std::string::npos)) {
      BERTH_LOG(warn) << path_ << ".seq is mangled (\"" << text->substr(0, 30) << "\"); the journal alone counts";
    } else {
      ceiling = std::stoull(*text);
    }
  }
  // The ceiling was last raised to (the last seq then) + 1 + kSeqReserve: a
  // journal whose last seq is below that last seq has lost events.
  if (ceiling > lastSeq_ + 1 + kSeqReserve) {
    BERTH_LOG(error) << path_ << " has lost events: its last seq is " << lastSeq_ << ", but seqs up to "
                     << ceiling - 1 << " may have gone out; numbering goes on from " << ceiling;
    lastSeq_ = ceiling - 1;
  }
  try {
    raiseCeiling(lastSeq_ + 1);
  } catch (const Error& e) {
    // (a full disk: berthd still starts; append() raises it before the
    // first seq that needs it, and refuses events until it can)
    BERTH_LOG(error) << "cannot write " << path_ << ".seq: " << e.what();
    seqCeiling_ = 0;
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) throw systemError("open " + path_, errno);
  if (text && !text->empty() && text->back() != '\n') {
    // A torn last line (power loss): end it, so the next event starts a line.
    if (::write(fd_, "\n", 1) != 1) throw systemError("write " + path_, errno);
  }
  BERTH_LOG(info) << "event journal " << path_ << ": " << retained_.size()
                  << " retained events, last seq " << lastSeq_;
}

EventExchange::Journaled EventExchange::journaled(const std::string& ns, const std::string& id,
                                                 int64_t incarnation) const {
  auto it = journaled_.find(journalKey(ns, id, incarnation));
  return it == journaled_.end() ? Journaled{} : it->second;
}

wire::EventSink::Client EventExchange::sinkFor(std::weak_ptr<EventOrigin> origin) {
  return kj::heap<ShimSink>(*this, std::move(origin), alive_);
}

EventExchange::ShimEventResult EventExchange::handleShimEvent(const std::shared_ptr<EventOrigin>& origin,
                                                             TaskEvent ev) {
  if (origin->discarded()) return ShimEventResult::Dropped;  // a create being undone
  if (ev.shimSeq != 0 && ev.shimSeq <= origin->lastHandledSeq()) {
    BERTH_LOG(debug) << "duplicate event " << ev.topic << " shim seq " << ev.shimSeq << " of "
                     << origin->originNamespace() << "/" << origin->originId();
    return ShimEventResult::Dropped;
  }
  // berthd's own events that wait for the journal go first; while they
  // wait, so does this one (the shim sends it again).
  if (!flushUnjournaled()) {
    throw internal("event journal " + path_ + " cannot be written: " +
                   std::to_string(unjournaled_.size()) + " of berthd's own events wait for it");
  }
  ev.setNamespace(origin->originNamespace());
  if (ev.taskId.empty()) ev.taskId = origin->originId();
  ev.incarnation = origin->originIncarnation();
  ev.setSeq(lastSeq_ + 1);
  auto shared = std::make_shared<const TaskEvent>(std::move(ev));
  append(shared);  // throws before the seq is taken if the journal cannot be written
  lastSeq_ = shared->seq;
  if (shared->topic == topics::kExit && processIdOf(*shared) == shared->taskId) {
    crashPoint("after-exit-journaled");
  }
  if (shared->topic == topics::kStart) crashPoint("after-start-journaled");
  // The cache first (it also fills the record's exit); subscribers next (the
  // journal has the event, so its seq is taken for good); then the record
  // with the new last seq, one save for both, before the ack (the save is
  // the caller's, a turn later: ShimSink::publish). A crash before
  // that save is caught up from the journal at restart (journaled()), so the
  // event is not published twice.
  origin->applyEvent(*shared);
  bool sent = fanOut(shared);
  if (shared->shimSeq != 0) origin->recordHandledSeq(shared->shimSeq);
  return sent ? ShimEventResult::Sent : ShimEventResult::Kept;
}

void EventExchange::publishLocal(TaskEvent ev, const std::shared_ptr<EventOrigin>& origin) {
  ev.shimSeq = 0;
  if (origin) {
    ev.incarnation = origin->originIncarnation();
    origin->applyEvent(ev);  // the task's state has it at once, journaled or not
  }
  unjournaled_.push_back(std::make_shared<TaskEvent>(std::move(ev)));
  flushUnjournaled();
}

bool EventExchange::flushUnjournaled() {
  if (unjournaled_.empty()) return true;  // (the usual case: every shim event asks)
  while (!unjournaled_.empty()) {
    std::shared_ptr<const TaskEvent> shared = unjournaled_.front();
    unjournaled_.front()->setSeq(lastSeq_ + 1);  // (nobody else has it until it is journaled)
    try {
      append(shared);
    } catch (const Error& e) {
      BERTH_LOG(error) << "cannot journal " << shared->topic << " of " << shared->ns << "/"
                       << shared->taskId << " (" << unjournaled_.size()
                       << " of berthd's own events wait): " << e.what();
      retry_.schedule([this] { flushUnjournaled(); });  // refused again: twice as late
      return false;
    }
    unjournaled_.pop_front();
    lastSeq_ = shared->seq;
    fanOut(shared);
  }
  retry_.reset();
  if (allJournaled_) std::exchange(allJournaled_, nullptr)->set();
  return true;
}

asio::awaitable<void> EventExchange::journaledAll() {
  if (unjournaled_.empty()) co_return;
  if (!allJournaled_) allJournaled_ = std::make_shared<DoneSignal>(KjLoop::current().io().get_executor());
  auto signal = allJournaled_;
  co_await signal->wait();
}

void EventExchange::raiseCeiling(uint64_t seq) {
  uint64_t ceiling = seq + kSeqReserve;
  atomicWrite(path_ + ".seq", std::to_string(ceiling) + "\n");
  seqCeiling_ = ceiling;
}

void EventExchange::append(const std::shared_ptr<const TaskEvent>& ev) {
  if (ev->seq >= seqCeiling_) raiseCeiling(ev->seq);  // (once every kSeqReserve events)
  std::string line = toJournalLine(*ev) + "\n";
  if (tornTail_) line.insert(0, "\n");  // ends the cut-short line load() will skip
  std::string_view rest(line);
  size_t written = 0;
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      if (!cutTornLine(written) && written + 1 == line.size()) {
        // All but the newline is there to stay, and load() will read it: the
        // event is journaled. The next line starts with the newline.
        tornTail_ = true;
        break;
      }
      throw systemError("write " + path_, err);
    }
    written += static_cast<size_t>(n);
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (rest.empty()) tornTail_ = false;
  BERTH_LOG(debug) << "event " << ev->seq << " " << ev->topic << " " << ev->ns << "/" << ev->taskId
                   << " (shim seq " << ev->shimSeq << ")";
  retained_.push_back(ev);
  ++fileLines_;
  if (fileLines_ > kRotateAt) rotate();
}

bool EventExchange::cutTornLine(size_t written) {
  if (written == 0) return true;
  // Left there, the rest of the next line would be glued to it, and load()
  // would skip both: an event acknowledged and then lost at restart.
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && st.st_size >= static_cast<off_t>(written) &&
      ::ftruncate(fd_, st.st_size - static_cast<off_t>(written)) == 0) {
    return true;
  }
  BERTH_LOG(warn) << "cannot cut a short write off " << path_ << ": " << strerror(errno)
                  << "; the next line starts after it";
  tornTail_ = true;
  return false;
}

void EventExchange::rotate() {
  while (retained_.size() > kRetained) retained_.pop_front();
  std::string text;
  for (const auto& ev : retained_) text += toJournalLine(*ev) + "\n";
  // Written through the descriptor berthd then keeps appending to: with a
  // reopen after the rename, a failed open would leave berthd writing to the
  // old, unlinked file, and every later event would be gone at restart.
  const std::string tmp = path_ + ".rotating";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  try {
    if (fd < 0) throw systemError("open " + tmp, errno);
    writeAll(fd, text, tmp);
    if (::rename(tmp.c_str(), path_.c_str()) != 0) throw systemError("rename " + tmp + " to " + path_, errno);
  } catch (const Error& e) {
    BERTH_LOG(warn) << "cannot rotate " << path_ << ": " << e.what() << " (tried again "
                    << kRotateAt - kRetained << " events later)";
    if (fd >= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
    }
    fileLines_ = retained_.size();
    return;
  }
  ::close(fd_);
  fd_ = fd;
  tornTail_ = false;
  fileLines_ = retained_.size();
  BERTH_LOG(debug) << "rotated " << path_ << " to " << fileLines_ << " events";
}

EventExchange::Subscription EventExchange::subscribe(wire::EventSink::Client sink,
                                                    std::string topicPrefix,
                                                    std::optional<uint64_t> since) {
  auto sub = std::make_shared<Subscriber>(kj::mv(sink));
  sub->id = nextSubscriberId_++;
  sub->prefix = std::move(topicPrefix);
  if (since) {
    for (const auto& ev : retained_)
      if (ev->seq > *since && sub->wants(*ev)) sub->replay.push_back(ev);
  }
  subscribers_.push_back(sub);
  BERTH_LOG(debug) << "subscriber " << sub->id << " prefix \"" << sub->prefix << "\" replays "
                   << sub->replay.size() << " events";
  pump(sub);
  return {sub->id, lastSeq_};
}

void EventExchange::unsubscribe(uint64_t id) {
  for (const auto& sub : subscribers_) {
    if (sub->id == id) {
      // A copy: drop() removes the list's own, which `sub` refers to.
      std::shared_ptr<Subscriber> held = sub;
      drop(held, "its client went away", false);
      return;
    }
  }
}

bool EventExchange::fanOut(const std::shared_ptr<const TaskEvent>& ev) {
  bool sent = false;
  // Copy: drop() edits the list.
  auto subs = subscribers_;
  for (auto& sub : subs) {
    if (sub->closed || !sub->wants(*ev)) continue;
    if (sub->live.size() >= queueLimit_) {
      drop(sub,
           "subscriber too slow: dropped after " + std::to_string(sub->live.size()) + " queued events",
           true);
      continue;
    }
    sub->live.push_back(ev);
    sent = pump(sub) || sent;
  }
  return sent;
}

bool EventExchange::pump(const std::shared_ptr<Subscriber>& sub) {
  if (sub->inFlight || sub->closed) return false;
  std::shared_ptr<const TaskEvent> next;
  if (!sub->replay.empty()) {
    next = sub->replay.front();
    sub->replay.pop_front();
  } else if (!sub->live.empty()) {
    next = sub->live.front();
    sub->live.pop_front();
  } else {
    return false;
  }
  sub->inFlight = true;
  // A copy, in a first segment of its size (capnp's default is 8 KiB, zeroed
  // for each message).
  auto event = next->wire();
  auto req = sub->sink.publishRequest(event.totalSize());
  req.setEvent(event);
  KjLoop::current().detach(
      req.send().then(
          [this, sub, alive = alive_](auto&&) {
            if (!*alive) return;
            sub->inFlight = false;
            pump(sub);
          },
          [this, sub, alive = alive_](kj::Exception&& e) {
            if (!*alive) return;
            drop(sub, std::string("publish failed: ") + e.getDescription().cStr(), false);
          }),
      "publish to subscriber");
  return true;
}

void EventExchange::drop(const std::shared_ptr<Subscriber>& sub, const std::string& reason,
                         bool tellIt) {
  if (sub->closed) return;
  sub->closed = true;
  sub->replay.clear();
  sub->live.clear();
  subscribers_.remove(sub);
  BERTH_LOG(info) << "subscriber " << sub->id << " dropped: " << reason;
  if (tellIt) {
    auto req = sub->sink.closeRequest();
    req.setReason(reason);
    KjLoop::current().detach(req.send().ignoreResult().catch_([](kj::Exception&&) {}),
                             "close subscriber");
  }
}

void EventExchange::closeAll(const std::string& reason) {
  auto subs = subscribers_;
  for (auto& sub : subs) drop(sub, reason, true);
}

}  // namespace berth
