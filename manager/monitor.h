// TaskMonitor (the reference's): told when a task starts being managed and when
// it stops. berthd's own liveness watch is the shim connection (see
// shim_runtime); monitors are for anything else that wants to follow tasks.
#pragma once

#include "manager/runtime.h"

#include <memory>
#include <vector>

namespace berth {

class TaskMonitor {
 public:
  virtual ~TaskMonitor() = default;
  // Adds the task to the monitor.
  virtual void monitor(const std::shared_ptr<Task>& task) = 0;
  // Stops monitoring and forgets the task.
  virtual void stop(const std::shared_ptr<Task>& task) = 0;
};

// Broadcasts to each of its monitors, in order.
class MultiTaskMonitor final : public TaskMonitor {
 public:
  explicit MultiTaskMonitor(std::vector<std::shared_ptr<TaskMonitor>> monitors);
  void monitor(const std::shared_ptr<Task>& task) override;
  void stop(const std::shared_ptr<Task>& task) override;

 private:
  std::vector<std::shared_ptr<TaskMonitor>> monitors_;
};

// Does nothing.
class NoopMonitor final : public TaskMonitor {
 public:
  void monitor(const std::shared_ptr<Task>&) override {}
  void stop(const std::shared_ptr<Task>&) override {}
};

// Logs each task it is told about (debug level).
class LoggingMonitor final : public TaskMonitor {
 public:
  void monitor(const std::shared_ptr<Task>& task) override;
  void stop(const std::shared_ptr<Task>& task) override;
};

}  // namespace berth
