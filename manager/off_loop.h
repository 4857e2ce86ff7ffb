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
#include <memory>

namespace berth {

asio::awaitable<void> offLoop(std::function<void()> blocking);

// The same, started now and awaited later, so that the loop's caller can do
// other work meanwhile (a create starts its shim while its record is
// written). wait() resumes once the call is done and rethrows its exception;
// a job must be waited for before what it writes to is removed.
class OffLoopJob {
 public:
  OffLoopJob(asio::any_io_executor loop, std::function<void()> blocking);
  asio::awaitable<void> wait();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace berth
