// berth events as the JSON lines `berthctl events` prints:
//   {"seq":N,"timestamp":"…","namespace":"…","topic":"/tasks/exit","event":{…}}
// Topics and event fields follow containerd's task events (snake_case names,
// exit statuses mapped to 128+signal, times RFC 3339 with nanoseconds, UTC).
// Depends only on the schema, common/timeutil and nlohmann::json, so berthd's
// tests can link it (files('tools/berthctl/event_json.cc')).
#pragma once

#include "types.capnp.h"

#include <nlohmann/json.hpp>

#include <string>

namespace berthctl {

// "/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/oom", "/tasks/delete",
// "/tasks/exec-added", "/tasks/exec-started", "/tasks/paused",
// "/tasks/resumed", "/tasks/checkpointed"; "" for an unknown payload.
std::string eventTopic(berth::wire::Event::Reader event);

// The payload alone: e.g. {"container_id","id","pid","exit_status","exited_at"}.
nlohmann::ordered_json eventPayloadJson(berth::wire::Event::Reader event);

// The whole event: {"seq","timestamp","namespace","topic","event"}.
nlohmann::ordered_json eventJson(berth::wire::Event::Reader event);

// eventJson as one compact line, without the trailing newline.
std::string eventJsonLine(berth::wire::Event::Reader event);

}  // namespace berthctl
