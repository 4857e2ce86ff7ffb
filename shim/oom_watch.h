// Watches the task's memory cgroup for OOM kills.
//
// cgroup v1: an eventfd registered on memory.oom_control through
// cgroup.event_control. The eventfd also fires when the cgroup is removed
// (runc delete), so a kill is only counted when memory.oom_control's oom_kill
// counter went up. cgroup v2: an inotify watch on memory.events, which the
// kernel marks modified when its counters change (as containerd's cgroup v2
// manager watches it), and its oom_kill counter. Armed between runc create
// and runc start; checked once more when the init exits. The counter file
// stays open and is re-read with pread: the exit's check then costs no path
// walk.
#pragma once

#include "common/asio.h"
#include "shim/cgroup_paths.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace berth::shim {

class OomWatch {
 public:
  // `cgroupRoot`: where the hierarchies are mounted (a test's own tree).
  OomWatch(asio::io_context& io, std::function<void()> onOom, std::string cgroupRoot = kCgroupRoot);
  ~OomWatch();

  // Takes the baseline of the task's memory cgroup and starts watching.
  void arm(const CgroupPaths& paths);
  // Re-reads the counter; calls onOom if it went up since the last look.
  void check();

 private:
  void waitEvent();
  void recheck(int attempt);
  // The counter file's text; nullopt once the cgroup is gone.
  std::optional<std::string> readCounter() const;

  asio::io_context& io_;
  std::function<void()> onOom_;
  std::string cgroupRoot_;
  std::string counterFile_;  // memory.oom_control (v1) or memory.events (v2)
  int counterFd_ = -1;
  uint64_t seen_ = 0;
  // What wakes us: the eventfd registered on memory.oom_control (v1) or an
  // inotify instance watching memory.events (v2).
  std::unique_ptr<asio::posix::stream_descriptor> notifier_;
  bool v1_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// "oom_kill N" from a memory.oom_control / memory.events text; 0 if absent.
uint64_t parseOomKill(const std::string& text);

}  // namespace berth::shim
