// The Runtime over shims: one berth-shim per task.
//
// create: validate (nothing touched on a bad request), reserve the id, write
// the task record, start the shim, connect, subscribe, Shim.create. Any
// failure undoes all of it (the shim's delete + shutdown, or `berth-shim
// delete`, record and state dirs, the reservation) and returns the error with
// its cause — the shim's error carries runc's own words.
// delete: Shim.delete, wait for the task's last events, Shim.shutdown, remove
// record and state dir, drop it from the list.
#pragma once

#include "common/reaper.h"
#include "manager/event_exchange.h"
#include "manager/heap_trim.h"
#include "manager/monitor.h"
#include "manager/runtime.h"
#include "manager/shim_client.h"
#include "manager/shim_task.h"
#include "manager/task_list.h"

#include <chrono>
#include <functional>
#include <memory>
#include <map>
#include <set>
#include <string>

namespace berth {

struct RuntimeConfig {
  std::string root;   // --root: ROOT/NS/ID/task
  std::string state;  // --state: STATE/NS/ID (the shim's), STATE/runc/NS (runc's)
  ShimCommand shim;
};

class ShimRuntime final : public Runtime {
 public:
  ShimRuntime(RuntimeConfig config, Reaper& reaper, TaskList& tasks, EventExchange& events,
              TaskMonitor& monitor);

  const std::string& id() const override { return id_; }
  asio::awaitable<std::shared_ptr<Task>> create(std::string ns, std::string id,
                                                CreateOpts opts) override;
  asio::awaitable<std::shared_ptr<Task>> get(std::string ns, std::string id) override;
  asio::awaitable<std::vector<std::shared_ptr<Task>>> tasks(std::string ns) override;
  asio::awaitable<Exit> remove(std::shared_ptr<Task> task) override;

  // ---- for recovery
  TaskPaths pathsFor(const std::string& ns, const std::string& id) const;
  const RuntimeConfig& config() const { return config_; }
  TaskList& taskList() { return tasks_; }
  EventExchange& events() { return events_; }
  // Lists a task found on disk (Loading, or Lost if its record says so).
  std::shared_ptr<ShimTask> adopt(const std::string& ns, const std::string& id, TaskRecord record);
  // Connects to the task's shim, checks it (`connect`), subscribes after the
  // record's last seq and watches the connection; each step within `deadline`.
  asio::awaitable<void> connectShim(std::shared_ptr<ShimTask> task, std::chrono::milliseconds deadline);
  // connectShim's first half: connects and sends hello and subscribe; the
  // promise is their answer (ShimClient::answerSubscribe).
  kj::Promise<uint64_t> beginConnect(const std::shared_ptr<ShimTask>& task);
  // The shim is gone or wedged: kill it if it is still there, `berth-shim
  // delete`, the task becomes stopped with the exit from its exit file (137
  // where there is none) and /tasks/exit is published. It stays listed until deleted.
  asio::awaitable<void> reapLostShim(std::shared_ptr<ShimTask> task, std::string why);

  // ---- crash recovery: what berthd finds half-done at start (see recovery.h)
  // A create berthd died in (its record not marked created): undone as a
  // failed create is (the shim's delete + shutdown, or `berth-shim delete`;
  // record and state dir removed); an exit and a /tasks/delete follow its
  // events if any were published (endStory). The id is not listed
  // meanwhile; a create of it waits.
  asio::awaitable<void> rollBackCreate(std::string ns, std::string id, TaskRecord record);
  // A delete berthd died in (its record marked deleting; the task is listed,
  // Loading): finished — Shim.delete if the shim still has the container,
  // its pending events handled, shutdown (or kill + `berth-shim delete`),
  // /tasks/delete published unless it was, record and state dir removed. If
  // the init turns out to still run, the delete is dropped and the task
  // reconnected as usual.
  asio::awaitable<void> finishDelete(std::shared_ptr<ShimTask> task);
  // A state dir, runc container or record dir with no task record: its shim
  // (if that very process still runs) is killed, `berth-shim delete` removes
  // container, mounts and state dir, and the record dir goes.
  asio::awaitable<void> cleanOrphan(std::string ns, std::string id);
  // A task whose record exists but cannot be read or parsed: nothing of it
  // is touched (its shim and container run on, its files stay), and its id
  // stays taken, so a create cannot reuse the id and roll back onto its
  // container. A create of it is refused, naming WHY, until the record is
  // mended or removed and berthd restarts.
  void holdUnreadable(const std::string& ns, const std::string& id, std::string why);

  // Called when a Ready task's shim connection drops (set by recovery).
  std::function<void(std::shared_ptr<ShimTask>)> onShimDisconnected;

  // The shim deleted the task (its /tasks/delete went out) with no delete of
  // berthd's under way: one gave up waiting for the shim (its deadline passed
  // while the shim was stalled), or berthd restarted in between. Without an
  // end the task stayed listed as deleted, its id taken and its shim running,
  // with every delete answering not-found.
  bool deletedByShim(const std::shared_ptr<ShimTask>& task) const;
  // Ends such a task as remove() would, once it is settled (from a posted
  // coroutine): the shim shut down, record and state dir removed, unlisted.
  void finishShimDeleteSoon(std::shared_ptr<ShimTask> task);

 private:
  asio::awaitable<void> undoCreate(std::shared_ptr<ShimTask> task, bool shimStarted);
  // The end of a delete: the shim shut down (killed if it will not go), then
  // the task forgotten (record and state dir removed, unlisted, unmonitored).
  asio::awaitable<void> retireShim(std::shared_ptr<ShimTask> task, std::shared_ptr<ShimClient> client);
  void forget(const std::shared_ptr<ShimTask>& task);
  // Sets the task's onDeletedByShim (finishShimDeleteSoon).
  void watchShimDelete(const std::shared_ptr<ShimTask>& task);
  // finishShimDeleteSoon's work; false if there was nothing to finish.
  asio::awaitable<bool> completeShimDelete(std::shared_ptr<ShimTask> task);
  // What a task's events have told so far, and what its story ends with.
  struct StoryEnd {
    int64_t incarnation = 0;            // the ending's, when published without a task
    bool eventsOut = false;             // its /tasks/create (maybe more) went out
    bool deleteOut = false;             // so did its /tasks/delete
    std::optional<Exit> exitOut;        // its init's /tasks/exit, if that went out
    uint32_t pid = 0;                   // its init's, for an exit published here
    std::optional<Exit> exitSeen = {};  // its init's exit as recorded, not published
  };
  // Ends a story its events began, as a delete's ends: the init's exit unless
  // one went out (the one seen, else SIGKILL now), then the delete. Against
  // `task` when there is one (its record notes them), else under the
  // incarnation. An undone create's goes out before the undo, so that a crash
  // during the undo cannot publish it twice; a delete finished at start-up,
  // whose shim died before it sent the init's exit, gets its exit this way.
  // endStory for a deleted task whose shim did not (or could not) send its
  // exit and delete: EXIT is the delete's (or empty); then waits until the
  // journal has them.
  asio::awaitable<void> endTaskStory(std::shared_ptr<ShimTask> task, Exit exit);
  void endStory(const std::string& ns, const std::string& id, const StoryEnd& story,
                const std::shared_ptr<ShimTask>& task = nullptr);
  // create with opts.start: awaits the start sent behind the create; if it
  // failed, deletes the task and rethrows the start's error.
  asio::awaitable<void> startOrDelete(std::shared_ptr<ShimTask> task, kj::Promise<uint32_t> started);
  void removeDirs(const TaskPaths& paths, const std::string& ns);
  // Record (quickly) that a delete is under way, or no longer.
  void markDeleting(const std::shared_ptr<ShimTask>& task, bool deleting);

  std::string id_ = "io.berth.runc.v1";
  RuntimeConfig config_;
  Reaper& reaper_;
  TaskList& tasks_;
  EventExchange& events_;
  TaskMonitor& monitor_;
  // "NS/ID" being rolled back or cleaned up by recovery.
  std::set<std::string> cleaning_;
  // "NS/ID" -> why its record cannot be read (holdUnreadable).
  std::map<std::string, std::string> unreadable_;
  HeapTrimmer trimmer_;
};

}  // namespace berth
