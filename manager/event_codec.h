// Task events as berthd handles them: the wire's Event (as a shim sent it or
// berthd made it) with what berthd adds (its seq, the task, the topic), and
// its journal line (containerd-style fields, JSON) and back.
#pragma once

#include "common/event_json.h"
#include "manager/runtime.h"
#include "types.capnp.h"

#include <capnp/message.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace berth {

namespace topics {
// A payload this berthd does not know (a newer shim's): journaled and
// acknowledged, but not passed on to subscribers, whose contract has no such
// topic. (The containerd topics are in common/event_json.h.)
inline constexpr const char* kUnknown = "/tasks/?";
}  // namespace topics

// One of the contract's topics. Only these go to subscribers: a journal line
// of another (a newer berthd's, a mangled one) keeps its topic, but its
// payload is a stand-in, which under that topic would tell of a pause that
// never was.
bool isKnownTopic(const std::string& topic);

struct TaskEvent {
  uint64_t seq = 0;      // berthd's global seq (0 until assigned)
  uint64_t shimSeq = 0;  // the task's own seq from its shim (0: made by berthd)
  // Which incarnation of NS/ID (its record's created_at): the journal tells a
  // recreated task's events from its predecessor's (recovery's dedup).
  int64_t incarnation = 0;
  int64_t timestampNs = 0;
  std::string ns;
  std::string taskId;
  std::string topic;
  // The event as subscribers get it (wire::Event, with berthd's seq once
  // assigned: setSeq). Kept in capnp form, so that an event goes from a shim
  // to the subscribers by a copy, with no conversion on the exit's path; the
  // journal line is made from it.
  std::shared_ptr<capnp::MallocMessageBuilder> message;

  // Move-only: a copy would share the message, and setSeq on it would change
  // the original (retained, or queued for subscribers) too.
  TaskEvent() = default;
  TaskEvent(TaskEvent&&) = default;
  TaskEvent& operator=(TaskEvent&&) = default;
  TaskEvent(const TaskEvent&) = delete;
  TaskEvent& operator=(const TaskEvent&) = delete;

  wire::Event::Reader wire() const;
  void setSeq(uint64_t seq);
  void setNamespace(const std::string& ns);
};

// From a shim's event: its seq becomes shimSeq.
TaskEvent eventFromWire(wire::Event::Reader event);

// The exit carried by an exit or delete event.
Exit exitOfEvent(const TaskEvent& event);
// The process an exit or delete event is about (the task id for its init);
// empty for other events.
std::string processIdOf(const TaskEvent& event);
// The pid a create or start event carries (0 for other events).
uint32_t pidOf(const TaskEvent& event);
// An init exit event made by berthd (a shim that was found gone).
TaskEvent makeExitEvent(const std::string& ns, const std::string& id, const Exit& exit);
TaskEvent makeDeleteEvent(const std::string& ns, const std::string& id, const Exit& exit);

// One line of ROOT/events.log (no trailing newline) and back; fromJournalLine
// throws nlohmann::json::exception on a broken line.
std::string toJournalLine(const TaskEvent& event);
TaskEvent fromJournalLine(const std::string& line);

}  // namespace berth
