#include "shim/status.h"

#include "common/errors.h"

#include <array>
#include <optional>

namespace berth::shim {

namespace {
struct Row {
  Status from;
  Action action;
  Status to;
};

// The whole machine. Anything not listed is refused.
constexpr std::array kTable{
    Row{Status::Created, Action::Start, Status::Running},
    Row{Status::Created, Action::Exit, Status::Stopped},
    Row{Status::Created, Action::Delete, Status::Deleted},
    Row{Status::Created, Action::Kill, Status::Created},
    Row{Status::Created, Action::Exec, Status::Created},
    Row{Status::Created, Action::Update, Status::Created},  // its cgroup exists: as containerd
    Row{Status::Running, Action::StartFailed, Status::Created},  // (an exec's start claims it)
    Row{Status::Running, Action::Pause, Status::Pausing},
    Row{Status::Running, Action::Exit, Status::Stopped},
    Row{Status::Running, Action::Exec, Status::Running},
    Row{Status::Running, Action::Kill, Status::Running},
    Row{Status::Running, Action::Update, Status::Running},
    Row{Status::Running, Action::Checkpoint, Status::Running},
    Row{Status::Pausing, Action::PauseDone, Status::Paused},
    Row{Status::Pausing, Action::PauseFailed, Status::Running},
    Row{Status::Pausing, Action::Exit, Status::Stopped},
    Row{Status::Pausing, Action::Kill, Status::Pausing},
    Row{Status::Paused, Action::Resume, Status::Running},
    Row{Status::Paused, Action::Exit, Status::Stopped},
    Row{Status::Paused, Action::Kill, Status::Paused},  // (SIGKILL thaws it: then it exits)
    Row{Status::Paused, Action::Update, Status::Paused},
    Row{Status::Paused, Action::Checkpoint, Status::Paused},
    Row{Status::Stopped, Action::Delete, Status::Deleted},
    Row{Status::Deleted, Action::Exit, Status::Deleted},  // a delete that gave up waiting went first
};

std::string_view verb(Action a) {
  switch (a) {
    case Action::Start: return "start";
    case Action::StartFailed: return "fail to start";
    case Action::Pause: return "pause";
    case Action::PauseDone: return "finish pausing";
    case Action::PauseFailed: return "fail to pause";
    case Action::Resume: return "resume";
    case Action::Exit: return "exit";
    case Action::Delete: return "delete";
    case Action::Exec: return "exec in";
    case Action::Kill: return "kill";
    case Action::Update: return "update";
    case Action::Checkpoint: return "checkpoint";
  }
  return "?";
}
}  // namespace

std::string_view statusName(Status s) {
  switch (s) {
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Pausing: return "pausing";
    case Status::Paused: return "paused";
    case Status::Stopped: return "stopped";
    case Status::Deleted: return "deleted";
  }
  return "unknown";
}

wire::Status toWire(Status s) {
  switch (s) {
    case Status::Created: return wire::Status::CREATED;
    case Status::Running: return wire::Status::RUNNING;
    case Status::Pausing: return wire::Status::PAUSING;
    case Status::Paused: return wire::Status::PAUSED;
    case Status::Stopped: return wire::Status::STOPPED;
    case Status::Deleted: return wire::Status::DELETED;
  }
  return wire::Status::UNKNOWN;
}

bool transition(Status from, Action action, Status& to) {
  for (const Row& r : kTable) {
    if (r.from == from && r.action == action) {
      to = r.to;
      return true;
    }
  }
  return false;
}

Status transitionOrThrow(Status from, Action action, std::string_view who) {
  Status to;
  if (!transition(from, action, to)) {
    std::string sentence = "cannot " + std::string(verb(action)) + " a " + std::string(statusName(from)) + " process";
    if (!who.empty()) sentence += " (" + std::string(who) + ")";
    throw failedPrecondition(sentence);
  }
  return to;
}

}  // namespace berth::shim
