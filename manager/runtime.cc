#include "manager/runtime.h"

#include <sys/wait.h>

namespace berth {

const char* statusName(Status status) {
  switch (status) {
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Stopped: return "stopped";
    case Status::Deleted: return "deleted";
    case Status::Paused: return "paused";
    case Status::Pausing: return "pausing";
    case Status::Unknown: break;
  }
  return "unknown";
}

Status statusFromName(std::string_view name) {
  for (Status s : {Status::Created, Status::Running, Status::Stopped, Status::Deleted, Status::Paused,
                   Status::Pausing}) {
    if (name == statusName(s)) return s;
  }
  return Status::Unknown;
}

ExitStatus ExitStatus::fromWaitStatus(int waitStatus) {
  if (WIFSIGNALED(waitStatus)) return signaled(static_cast<uint8_t>(WTERMSIG(waitStatus)));
  return exited(static_cast<uint8_t>(WEXITSTATUS(waitStatus)));
}

uint32_t ExitStatus::contractCode() const {
  switch (kind) {
    case Kind::Exited: return value;
    case Kind::Signaled: return 128u + value;
    case Kind::None: break;
  }
  return 0;
}

int ExitStatus::waitStatus() const {
  switch (kind) {
    case Kind::Exited: return value << 8;
    case Kind::Signaled: return value;
    case Kind::None: break;
  }
  return 0;
}

}  // namespace berth
