// The task record ROOT/NS/ID/task: what berthd must remember about a task
// across its own restarts (JSON, one object).
#pragma once

#include "manager/runtime.h"

#include <cstdint>
#include <optional>
#include <string>

namespace berth {

struct TaskRecord {
  std::string bundle;
  std::string runtime;
  IO io;
  int64_t createdAtNs = 0;
  // The shim's seq of the last event berthd has handled (journaled and fanned out).
  uint64_t lastSeq = 0;
  // Set once the shim was found gone and cleaned up: the init's exit as the
  // shim's exit file told it. Such a task only waits for its delete.
  std::optional<Exit> lostExit;
  // Crash recovery (see recovery.h):
  // false from the first write until Shim.create has returned: a record that
  // is still false at start-up is a create berthd died in, and is rolled back.
  // (Absent in a record: true.)
  bool created = true;
  // The init's exit once berthd has handled (published) it, so a restart
  // never publishes it again, e.g. for a shim that dies later.
  std::optional<Exit> exit;
  // The init's /tasks/delete has been published.
  bool deletePublished = false;
  // A delete is under way: at start-up berthd finishes it.
  bool deleting = false;
  // The task's status and pid as berthd last knew them, saved with the
  // events that change them: what `list` shows after a restart while the
  // shim is being reconnected (it never waits on a shim).
  Status lastStatus = Status::Unknown;
  uint32_t lastPid = 0;

  std::string toJson() const;
  // invalid-argument naming PATH if the JSON is broken.
  static TaskRecord fromJson(const std::string& text, const std::string& path);

  // Crash-safe (fsynced) write, for the record's first version.
  void saveDurably(const std::string& path) const;
  // Rewritten in place without fsync (overwriteInPlace): survives a crash of
  // berthd (not a power loss, which kills the shims as well) and keeps the
  // event path fast.
  void saveQuickly(const std::string& path) const;
  // nullopt if PATH does not exist.
  static std::optional<TaskRecord> load(const std::string& path);
};

}  // namespace berth
