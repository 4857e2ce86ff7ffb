#include "manager/monitor.h"

#include "common/log.h"

namespace berth {

MultiTaskMonitor::MultiTaskMonitor(std::vector<std::shared_ptr<TaskMonitor>> monitors)
    : monitors_(std::move(monitors)) {}

void MultiTaskMonitor::monitor(const std::shared_ptr<Task>& task) {
  for (auto& m : monitors_) m->monitor(task);
}

void MultiTaskMonitor::stop(const std::shared_ptr<Task>& task) {
  for (auto& m : monitors_) m->stop(task);
}

void LoggingMonitor::monitor(const std::shared_ptr<Task>& task) {
  BERTH_LOG(debug) << "monitoring task " << task->ns() << "/" << task->id();
}

void LoggingMonitor::stop(const std::shared_ptr<Task>& task) {
  BERTH_LOG(debug) << "stopped monitoring task " << task->ns() << "/" << task->id();
}

}  // namespace berth
