#pragma once
#include <string>

namespace berth::shim {

// Turns this process into the shim daemon; returns in the child only. The
// parent prints `address` and exits 0 (callers read it as "ready": the socket
// is already bound and listening, connections queue until we accept).
// `keepFds` survive; everything else inherited is closed.
void daemonize(const std::string& address, const std::string& logFile, int keepFd);

// "PID STARTTIME" for shim.pid: the start time tells a live shim from a
// process that reused its pid.
std::string pidWithStartTime(int pid);

}  // namespace berth::shim
