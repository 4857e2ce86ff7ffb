// Blocking file work off berthd's loop.
//
// A create writes the task's first record durably: write, fsync, rename and
// an fsync of the directory, 0.5-0.9 ms on ext4 here and far longer on a busy
// disk. Done on the loop, every other task's calls and events waited for it.
// offLoop runs such a call on berthd's one worker thread and resumes the
// caller on its own executor (an exception comes back with it). The call must
// touch nothing but what it owns: no task, no logging, no RPC.
#pragma once

#include "common/asio.h"

#include <functional>

namespace berth {

asio::awaitable<void> offLoop(std::function<void()> blocking);

}  // namespace berth
