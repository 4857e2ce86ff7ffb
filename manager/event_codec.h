// Task events as berthd handles them: topic + containerd-style fields (JSON),
// converted from and to the wire's Event union, and to and from a journal line.
#pragma once

#include "manager/runtime.h"
#include "types.capnp.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace berth {

// The containerd topics.
namespace topics {
inline constexpr const char* kCreate = "/tasks/create";
inline constexpr const char* kStart = "/tasks/start";
inline constexpr const char* kOom = "/tasks/oom";
inline constexpr const char* kExit = "/tasks/exit";
inline constexpr const char* kDelete = "/tasks/delete";
inline constexpr const char* kExecAdded = "/tasks/exec-added";
inline constexpr const char* kExecStarted = "/tasks/exec-started";
inline constexpr const char* kPaused = "/tasks/paused";
inline constexpr const char* kResumed = "/tasks/resumed";
inline constexpr const char* kCheckpointed = "/tasks/checkpointed";
}  // namespace topics

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
  // containerd's field names (container_id, pid, exit_status, exited_at, ...);
  // exits also keep their typed status ("status": {"exited": c} or
  // {"signaled": s}) and "exited_at_ns", so the wire form is rebuilt exactly.
  nlohmann::json fields;
};

// From a shim's event: its seq becomes shimSeq.
TaskEvent eventFromWire(wire::Event::Reader event);
// To the wire, with berthd's seq.
void eventToWire(const TaskEvent& event, wire::Event::Builder b);

// The exit carried by an exit or delete event.
Exit exitOfEvent(const TaskEvent& event);
// An init exit event made by berthd (a shim that was found gone).
TaskEvent makeExitEvent(const std::string& ns, const std::string& id, const Exit& exit);
TaskEvent makeDeleteEvent(const std::string& ns, const std::string& id, const Exit& exit);

// One line of ROOT/events.log (no trailing newline) and back; fromJournalLine
// throws nlohmann::json::exception on a broken line.
std::string toJournalLine(const TaskEvent& event);
TaskEvent fromJournalLine(const std::string& line);

}  // namespace berth
