// The event exchange: every shim's events in, berthd's numbered stream out.
//
// In: each shim gets an EventSink capability (sinkFor) at subscribe. For each
// event it publishes: a shim seq at or below the task's last handled seq is a
// replay berthd already handled and is only acknowledged; anything newer gets
// berthd's next global seq, is appended to the journal ROOT/events.log, the
// task's last handled seq is persisted in its record, and only then does
// publish return (the ack: the shim drops the event from its queue). A crash of
// berthd before the ack makes the shim replay the event, never lose it.
//
// Out: subscribers (berth.capnp subscribe) get the events in seq order, first
// the retained ones after `since` (replay), then live ones. Each has a bounded
// queue and at most one publish in flight; one that falls kQueueLimit events
// behind is closed and dropped, so a stuck subscriber never slows berthd or a
// shim.
//
// The journal is plain write(2) without fsync: berthd survives its own crashes;
// a power loss kills the shims too. It keeps at least the last kRetained
// events and is rewritten when it passes kRotateAt lines.
//
// Seqs stay increasing even if the journal's content is lost (a power loss
// after a rotation's rename, a file emptied by hand): ROOT/events.log.seq
// (fsynced) holds a ceiling every seq given out is below, raised by
// kSeqReserve before a seq reaches it. A journal whose last seq is more than
// kSeqReserve below the ceiling has lost events, and numbering goes on from
// the ceiling.
//
// A journal that cannot be written (a disk full or failing): an event gets
// its seq only once its line is in the journal, so seqs stay unique and
// increasing across restarts, and `--since` replays everything. A line cut
// short is cut off again, so the next one starts a line of its own. A shim's
// event is refused (the shim sends it again); one of berthd's own events
// (publishLocal) is applied to its task at once and waits, in order, for the
// journal, which is tried again with a backoff (0.1 s doubling to 5 s) and
// before any later event.
#pragma once

#include "common/asio.h"
#include "common/done_signal.h"
#include "common/retry_backoff.h"
#include "manager/event_codec.h"
#include "types.capnp.h"

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace berth {

// The task side of an event stream (implemented by the task over a shim).
class EventOrigin {
 public:
  virtual ~EventOrigin() = default;
  virtual const std::string& originNamespace() const = 0;
  virtual const std::string& originId() const = 0;
  // Tells this task's events from those of an earlier task of the same id.
  virtual int64_t originIncarnation() const = 0;
  // The shim seq of the last event berthd handled for this task.
  virtual uint64_t lastHandledSeq() const = 0;
  // Notes it (duplicates are told by it from now on) and wakes the task's
  // waiters; saveHandledSeq persists it, a turn later, before the ack.
  virtual void recordHandledSeq(uint64_t shimSeq) = 0;
  virtual void saveHandledSeq() = 0;
  // Keeps the task's cached state current (e.g. stopped on the init's exit).
  virtual void applyEvent(const TaskEvent& event) = 0;
  // A task whose create failed and is being undone: its events are dropped.
  virtual bool discarded() const = 0;
};

class EventExchange {
 public:
  static constexpr size_t kRetained = 10000;
  static constexpr size_t kRotateAt = 20000;
  static constexpr size_t kQueueLimit = 4096;
  static constexpr uint64_t kSeqReserve = 10000;

  // queueLimit: live events a subscriber may fall behind before it is dropped.
  explicit EventExchange(std::string journalPath, size_t queueLimit = kQueueLimit);
  ~EventExchange();
  EventExchange(const EventExchange&) = delete;
  EventExchange& operator=(const EventExchange&) = delete;

  // Reads the journal: the last seq and the retained events.
  void load();

  // What the journal (as loaded at start) holds of one task incarnation. The
  // task record is saved just after the journal line is written; a crash in
  // between leaves the record one step behind, and recovery catches it up
  // from here so nothing is published twice.
  struct Journaled {
    uint64_t lastShimSeq = 0;
    std::optional<Exit> initExit;  // its init's /tasks/exit
    bool initStarted = false;      // its init's /tasks/start
    bool initDeleted = false;      // its init's /tasks/delete
    uint32_t initPid = 0;          // from its /tasks/create or /tasks/start
    bool any = false;
  };
  Journaled journaled(const std::string& ns, const std::string& id, int64_t incarnation) const;

  // The sink a shim publishes to; holds the origin weakly.
  wire::EventSink::Client sinkFor(std::weak_ptr<EventOrigin> origin);

  // What became of a shim's event: dropped (a duplicate, or a create being
  // undone), or kept, and then sent to a subscriber (a reader woken: see
  // common/hand_off.h) or not.
  enum class ShimEventResult { Dropped, Kept, Sent };
  // One event from a shim (the sink's publish): see the header comment.
  // Throws if it cannot be journaled (the shim keeps it and retries).
  ShimEventResult handleShimEvent(const std::shared_ptr<EventOrigin>& origin, TaskEvent event);
  // An event berthd makes itself (a lost shim's exit, its delete).
  void publishLocal(TaskEvent event, const std::shared_ptr<EventOrigin>& origin = nullptr);
  // berthd's own events still waiting for the journal.
  size_t unjournaled() const { return unjournaled_.size(); }
  // Returns once every event publishLocal was given so far is journaled (at
  // once in the usual case). What tells a restart that an event went out (a
  // record with its exit, a record gone with its delete) must wait for this:
  // a crash before would otherwise lose the event for good.
  asio::awaitable<void> journaledAll();

  struct Subscription {
    uint64_t id;       // for unsubscribe
    uint64_t lastSeq;  // the seq of the newest event so far
  };
  // Adds a subscriber.
  Subscription subscribe(wire::EventSink::Client sink, std::string topicPrefix,
                         std::optional<uint64_t> since);
  // Drops a subscriber whose client went away (no-op if it is gone already):
  // one whose filter matches no event would never find out by a failed send.
  void unsubscribe(uint64_t id);
  uint64_t lastSeq() const { return lastSeq_; }
  size_t subscriberCount() const { return subscribers_.size(); }

  // Closes every subscriber (berthd stops).
  void closeAll(const std::string& reason);

 private:
  struct Subscriber;
  class ShimSink;

  // Writes the event's line; throws (the journal as it was) if it cannot.
  void append(const std::shared_ptr<const TaskEvent>& event);
  // After a write that failed `written` bytes into its line: cuts them off
  // again; false (and the next line starts with a newline) if it cannot.
  bool cutTornLine(size_t written);
  void rotate();
  // Makes the ceiling (durably) SEQ + kSeqReserve before SEQ goes out; throws
  // if it cannot be written.
  void raiseCeiling(uint64_t seq);
  // Journals and sends berthd's own waiting events, in order; false (and a
  // retry scheduled) if the journal still refuses.
  bool flushUnjournaled();
  // Queues the event for every subscriber that wants it; true if one was
  // sent it at once.
  bool fanOut(const std::shared_ptr<const TaskEvent>& event);
  // Sends a subscriber its next event unless one is in flight; true if sent.
  bool pump(const std::shared_ptr<Subscriber>& sub);
  void drop(const std::shared_ptr<Subscriber>& sub, const std::string& reason, bool tellIt);

  std::string path_;
  size_t queueLimit_;
  int fd_ = -1;
  uint64_t lastSeq_ = 0;
  uint64_t seqCeiling_ = 0;  // every seq given out is below it (events.log.seq)
  size_t fileLines_ = 0;
  bool tornTail_ = false;  // a cut-short line could not be cut off: start the next with \n
  std::deque<std::shared_ptr<TaskEvent>> unjournaled_;
  std::shared_ptr<DoneSignal> allJournaled_;  // for journaledAll(), set when unjournaled_ empties
  RetryBackoff retry_;  // of unjournaled_
  std::deque<std::shared_ptr<const TaskEvent>> retained_;
  std::map<std::string, Journaled> journaled_;  // "NS/ID/INCARNATION", from load()
  std::list<std::shared_ptr<Subscriber>> subscribers_;
  uint64_t nextSubscriberId_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth
