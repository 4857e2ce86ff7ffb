#include "common/wire_status.h"

#include <sys/wait.h>

namespace berth {

void setExitStatus(wire::ExitStatus::Builder out, int waitStatus) {
  if (WIFEXITED(waitStatus)) {
    out.setExited(static_cast<uint8_t>(WEXITSTATUS(waitStatus)));
  } else if (WIFSIGNALED(waitStatus)) {
    out.setSignaled(static_cast<uint8_t>(WTERMSIG(waitStatus)));
  } else {
    out.setNone();
  }
}

uint32_t contractExitStatus(int waitStatus) {
  if (WIFEXITED(waitStatus)) return WEXITSTATUS(waitStatus);
  if (WIFSIGNALED(waitStatus)) return 128 + WTERMSIG(waitStatus);
  return 255;
}

uint32_t contractExitStatus(wire::ExitStatus::Reader status) {
  switch (status.which()) {
    case wire::ExitStatus::EXITED: return status.getExited();
    case wire::ExitStatus::SIGNALED: return 128u + status.getSignaled();
    default: return 0;
  }
}

std::string_view statusWord(wire::Status status) {
  switch (status) {
    case wire::Status::CREATED: return "created";
    case wire::Status::RUNNING: return "running";
    case wire::Status::STOPPED: return "stopped";
    case wire::Status::DELETED: return "deleted";
    case wire::Status::PAUSED: return "paused";
    case wire::Status::PAUSING: return "pausing";
    default: return "unknown";
  }
}

}  // namespace berth
