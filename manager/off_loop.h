// Blocking file work off berthd's loop.
//
// A create writes the task's first record durably: write, fsync, rename and
// an fsync of the directory, 0.5-1.1 ms on ext4 here and far longer on a busy
// disk. Done on the loop, every other task's calls and events waited for it.
// An OffLoopJob runs such a call on berthd's one worker thread, started at
// once and awaited later, so that the caller can do other work meanwhile (a
// create starts its shim while its record is written). wait() resumes on the
// loop once the call is done and rethrows its exception; a job must be
// waited for before what it writes to is removed. The call must touch
// nothing but what it owns: no task, no logging, no RPC.
#pragma once

#include "common/asio.h"

#include <functional>
#include <memory>

namespace berth {

class OffLoopJob {
 public:
  OffLoopJob(asio::any_io_executor loop, std::function<void()> blocking);
  asio::awaitable<void> wait();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace berth
