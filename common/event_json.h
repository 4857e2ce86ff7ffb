// Task events as JSON, with containerd's topics and event fields (snake_case
// names, exit statuses as 128+signal, RFC 3339 times with nanoseconds, UTC):
// the lines `berthctl events` prints, and the fields of berthd's journal.
#pragma once

#include "common/json_writer.h"
#include "types.capnp.h"

#include <string>
#include <string_view>

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

// The payload's topic; "" for a payload this build does not know.
const char* eventTopic(wire::Event::Payload::Which which);

// The container_id every payload carries ("" for one this build does not
// know); a view into the event's message.
std::string_view containerIdOf(wire::Event::Payload::Reader payload);

// The payload's fields, as members of the object being written: e.g. an
// exit's container_id, id, pid, exit_status, exited_at. `exact` adds what
// rebuilds the wire form exactly: an exit's typed status ({"exited": c},
// {"signaled": s} or {}) and exited_at_ns.
void writeEventFields(JsonWriter& w, wire::Event::Payload::Reader payload, bool exact);

// The contract's line for an event, without the newline:
//   {"seq":N,"timestamp":"…","namespace":"…","topic":"/tasks/exit","event":{…}}
std::string eventJsonLine(wire::Event::Reader event);

}  // namespace berth
