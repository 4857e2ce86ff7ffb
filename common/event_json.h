// Task events as JSON, with containerd's topics and event fields (snake_case
// names, exit statuses as 128+signal, RFC 3339 times with nanoseconds, UTC):
// the lines `berthctl events` prints, and the fields of berthd's journal.
#pragma once

#include "common/json_writer.h"
#include "types.capnp.h"

#include <string>

namespace berth {

// "/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/oom", "/tasks/delete",
// "/tasks/exec-added", "/tasks/exec-started", "/tasks/paused",
// "/tasks/resumed", "/tasks/checkpointed"; "" for a payload this build does
// not know.
const char* eventTopic(wire::Event::Payload::Which which);

// The payload's fields, as members of the object being written: e.g. an
// exit's container_id, id, pid, exit_status, exited_at. `exact` adds what
// rebuilds the wire form exactly: an exit's typed status ({"exited": c},
// {"signaled": s} or {}) and exited_at_ns.
void writeEventFields(JsonWriter& w, wire::Event::Payload::Reader payload, bool exact);

// The contract's line for an event, without the newline:
//   {"seq":N,"timestamp":"…","namespace":"…","topic":"/tasks/exit","event":{…}}
std::string eventJsonLine(wire::Event::Reader event);

}  // namespace berth
