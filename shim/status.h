// The status of a process (init or exec) and its one transition table.
#pragma once

#include "types.capnp.h"

#include <string_view>

namespace berth::shim {

enum class Status { Created, Running, Pausing, Paused, Stopped, Deleted };

// What is being asked of a process; each names one row of the table.
enum class Action {
  Start,
  StartFailed,  // an exec whose start failed: it may be started again
  Pause,
  PauseDone,
  PauseFailed,
  Resume,
  Exit,  // its exit is published
  Delete,
  Exec,
  Kill,
  Update,
  Checkpoint,
};

std::string_view statusName(Status s);
wire::Status toWire(Status s);

// True if `action` is allowed in status `from`; `to` receives the new status.
bool transition(Status from, Action action, Status& to);

// Applies the transition or throws failed-precondition with a sentence such
// as "cannot start a stopped process", followed by " (WHO)" when WHO is given
// ("task default/t1", "exec e1 of task default/t1").
Status transitionOrThrow(Status from, Action action, std::string_view who = {});

}  // namespace berth::shim
