// Tells when a runtime has put its --pid-file in place. runc create and runc
// exec --detach rename it into place as their last step (after the process
// is set up, the console sent, the state saved): from then on the call has
// succeeded, ~0.8 ms before its exit reaches us (the kernel tears down
// runc's address space first, then notifies the parent), and the start
// behind a create need not wait for that.
//
// Only a rename counts (IN_MOVED_TO): a runtime that writes the file in
// place (crun truncates and writes it) may still have work to do after it,
// and is waited for to exit. runc (1.0 to 1.2, checked in its
// utils_linux.go: createPidFile, then return 0 when detached and without a
// notify socket) renames it as its last step.
//
// One inotify instance serves the shim's life, its watch added per call and
// removed as soon as the call is done: closing an instance that has (or just
// had) a watch waits for an SRCU grace period, 5-15 ms here, which would land
// on every create (or the shim's exit, and with it the delete).
#pragma once

#include "common/asio.h"
#include "common/done_signal.h"

#include <map>
#include <memory>
#include <string>

namespace berth::shim {

class PidFileWatch {
 public:
  explicit PidFileWatch(const asio::any_io_executor& executor) : executor_(executor) {}
  ~PidFileWatch() { *alive_ = false; }
  PidFileWatch(const PidFileWatch&) = delete;
  PidFileWatch& operator=(const PidFileWatch&) = delete;

  // While it is held, `renamed` is set when a file is renamed to `path`
  // (watched from now on: take it before the runtime starts). Without
  // inotify (logged) it never is: the caller waits for the exit.
  class Expectation {
   public:
    ~Expectation();
    Expectation(const Expectation&) = delete;
    Expectation& operator=(const Expectation&) = delete;

   private:
    friend class PidFileWatch;
    Expectation(PidFileWatch* owner, std::string path, const DoneSignal* signal)
        : owner_(owner), alive_(owner->alive_), path_(std::move(path)), signal_(signal) {}
    PidFileWatch* owner_;
    std::shared_ptr<bool> alive_;  // (a coroutine frame may outlive the watch at shutdown)
    std::string path_;
    const DoneSignal* signal_;
  };
  std::unique_ptr<Expectation> expect(const std::string& path, std::shared_ptr<DoneSignal> renamed);

 private:
  bool open();
  void readEvents();
  void forget(const std::string& path, const DoneSignal* signal);

  struct Dir {
    int wd = -1;
    int users = 0;
  };
  asio::any_io_executor executor_;
  std::unique_ptr<asio::posix::stream_descriptor> inotify_;
  bool failed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::map<std::string, Dir> dirs_;                                  // by path
  std::map<int, std::string> dirOfWd_;
  std::multimap<std::string, std::shared_ptr<DoneSignal>> waiting_;  // by the file's path
};

}  // namespace berth::shim
