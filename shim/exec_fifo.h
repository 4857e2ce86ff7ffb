// Starting a created runc container without running `runc start`.
//
// runc create leaves the container's init blocked opening the write end of
// ROOT/ID/exec.fifo; `runc start` (runc 1.x, libcontainer's exec()) opens the
// read end, which releases it, reads the byte the init writes just before it
// execs the user's process, and removes the fifo, which is how runc tells a
// running container from a created one. Doing those three steps here saves a
// whole runc process per start (about 6 ms of a 40 ms lifecycle on the
// reference machine). Anything else a start might involve (poststart hooks,
// a runtime without the fifo) goes through `runc start` instead: see
// Task::start.
#pragma once

#include "common/asio.h"

#include <chrono>
#include <functional>
#include <string>

namespace berth::shim {

// The failed-precondition text of a start whose init died before it.
inline constexpr const char* kInitDeadBeforeStart = "cannot start: the container process is already dead";

// Releases the init waiting on `fifo` and returns once it has written its
// byte and closed its end, which it does at (or just before) its exec of the
// user's process: see exec_wait.h; false (nothing done) when there is no such
// fifo, and the caller runs `runc start`. `initGone` is asked every
// 100 ms while nobody writes (as runc does): an init that died before opening
// its end fails the start. Throws failed-precondition when the init is gone,
// internal on an I/O error or when `deadline` passes.
asio::awaitable<bool> startThroughExecFifo(const std::string& fifo,
                                           std::function<bool()> initGone,
                                           std::chrono::milliseconds deadline);

}  // namespace berth::shim
