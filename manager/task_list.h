// TaskList: every task berthd knows, keyed namespace -> id (the reference's
// TaskList).
//
// Everything runs on the one loop, so "locking" is serialisation: a create
// first reserves its id (a placeholder), which makes a concurrent create of the
// same id fail with already-exists at once; the create then fills the
// reservation with its task, or drops it if it failed. A reserved id is not
// visible to get/getAll until it holds a task.
#pragma once

#include "manager/runtime.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace berth {

class TaskList {
 public:
  // already-exists "task already exists: NS/ID" if the id is taken or reserved.
  void reserve(const std::string& ns, const std::string& id);
  // Drops a reservation (a failed create); a real task is left alone.
  void release(const std::string& ns, const std::string& id);

  // Adds under the task's own namespace; fills a reservation of its id.
  void add(std::shared_ptr<Task> task);
  void addWithNamespace(const std::string& ns, std::shared_ptr<Task> task);
  // Delete in the reference (no error if absent).
  void remove(const std::string& ns, const std::string& id);

  // not-found "task does not exist: NS/ID" (also while only reserved).
  std::shared_ptr<Task> get(const std::string& ns, const std::string& id) const;
  // The namespace's tasks, ordered by id.
  std::vector<std::shared_ptr<Task>> getAll(const std::string& ns) const;
  // Every task of every namespace.
  std::vector<std::shared_ptr<Task>> all() const;

 private:
  // nullptr: reserved by a create in progress.
  std::map<std::string, std::map<std::string, std::shared_ptr<Task>>> tasks_;
};

}  // namespace berth
