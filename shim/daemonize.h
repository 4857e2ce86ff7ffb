#pragma once
#include <string>

namespace berth::shim {

// Turns this process into the shim daemon; returns in the child only, with
// an fd to pass to notifyReady() once shim.pid is written. The parent waits
// for that, prints `address` and exits 0 (callers read it as "ready": the
// socket is bound and listening, connections queue until we accept); if the
// child dies first, the parent exits 1. `keepFd` (the listener) survives;
// everything else inherited is closed.
int daemonize(const std::string& address, const std::string& logFile, int keepFd);
void notifyReady(int readyFd);

// "PID STARTTIME" for shim.pid: the start time tells a live shim from a
// process that reused its pid.
std::string pidWithStartTime(int pid);

}  // namespace berth::shim
