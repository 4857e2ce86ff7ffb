#include "manager/task_list.h"

#include "common/errors.h"

namespace berth {

void TaskList::reserve(const std::string& ns, const std::string& id) {
  auto [it, inserted] = tasks_[ns].try_emplace(id, nullptr);
  if (!inserted) throw taskAlreadyExists(ns, id);
}

void TaskList::release(const std::string& ns, const std::string& id) {
  auto nsIt = tasks_.find(ns);
  if (nsIt == tasks_.end()) return;
  auto it = nsIt->second.find(id);
  if (it != nsIt->second.end() && it->second == nullptr) nsIt->second.erase(it);
  if (nsIt->second.empty()) tasks_.erase(nsIt);
}

void TaskList::add(std::shared_ptr<Task> task) {
  std::string ns = task->ns();
  addWithNamespace(ns, std::move(task));
}

void TaskList::addWithNamespace(const std::string& ns, std::shared_ptr<Task> task) {
  auto& slot = tasks_[ns][task->id()];
  if (slot != nullptr) throw taskAlreadyExists(ns, task->id());
  slot = std::move(task);
}

void TaskList::remove(const std::string& ns, const std::string& id) {
  auto nsIt = tasks_.find(ns);
  if (nsIt == tasks_.end()) return;
  nsIt->second.erase(id);
  if (nsIt->second.empty()) tasks_.erase(nsIt);
}

std::shared_ptr<Task> TaskList::get(const std::string& ns, const std::string& id) const {
  auto nsIt = tasks_.find(ns);
  if (nsIt != tasks_.end()) {
    auto it = nsIt->second.find(id);
    if (it != nsIt->second.end() && it->second != nullptr) return it->second;
  }
  throw taskNotExists(ns, id);
}

std::vector<std::shared_ptr<Task>> TaskList::getAll(const std::string& ns) const {
  std::vector<std::shared_ptr<Task>> out;
  auto nsIt = tasks_.find(ns);
  if (nsIt == tasks_.end()) return out;
  for (const auto& [id, task] : nsIt->second)
    if (task != nullptr) out.push_back(task);
  return out;
}

std::vector<std::shared_ptr<Task>> TaskList::all() const {
  std::vector<std::shared_ptr<Task>> out;
  for (const auto& [ns, byId] : tasks_)
    for (const auto& [id, task] : byId)
      if (task != nullptr) out.push_back(task);
  return out;
}

}  // namespace berth
