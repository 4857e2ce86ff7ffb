// A task served by its berth-shim: the Task (and its exec Processes) over a
// ShimClient, plus what berthd caches about it.
//
// The cache (status, pid, exit of the init) follows the task's events, so
// `list` never asks a shim and `state`/`wait` of a stopped init answer even if
// the shim is slow or gone. The phase says where the shim connection stands:
//   Loading      — berthd (re)started and is reconnecting (recovery)
//   Ready        — connected and subscribed
//   Reconnecting — the connection dropped; being checked (see recovery)
//   Lost         — the shim is gone and was cleaned up: stopped, kept until deleted
// Calls made while Loading or Reconnecting wait (bounded) until it settles.
#pragma once

#include "manager/event_exchange.h"
#include "manager/runtime.h"
#include "manager/shim_client.h"
#include "manager/task_record.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace berth {

struct TaskPaths {
  std::string recordDir;   // ROOT/NS/ID
  std::string recordFile;  // ROOT/NS/ID/task
  std::string stateDir;    // STATE/NS/ID
  std::string socket;      // STATE/NS/ID/shim.sock
};

class ShimTask final : public Task, public EventOrigin, public std::enable_shared_from_this<ShimTask> {
 public:
  enum class Phase { Loading, Ready, Reconnecting, Lost };

  ShimTask(std::string ns, std::string id, TaskRecord record, TaskPaths paths, Phase phase);

  // Process
  const std::string& id() const override { return id_; }
  asio::awaitable<State> state() override;
  asio::awaitable<void> kill(uint32_t signal, bool all) override;
  asio::awaitable<void> resizePty(ConsoleSize size) override;
  asio::awaitable<void> closeIO() override;
  asio::awaitable<uint32_t> start() override;
  asio::awaitable<Exit> wait(std::shared_ptr<CallCancel> cancel) override;

  // Task
  TaskInfo info() const override;
  const std::string& ns() const override { return ns_; }
  State cachedState() const override { return cached_; }
  asio::awaitable<void> pause() override;
  asio::awaitable<void> resume() override;
  asio::awaitable<std::shared_ptr<Process>> exec(std::string execId, ExecOpts opts) override;
  asio::awaitable<std::vector<ProcessInfo>> pids() override;
  asio::awaitable<void> checkpoint(std::string imagePath, bool exit) override;
  asio::awaitable<Exit> deleteProcess(std::string execId) override;
  asio::awaitable<void> update(std::string resources) override;
  asio::awaitable<std::shared_ptr<Process>> process(std::string execId) override;
  asio::awaitable<Metrics> metrics() override;

  // EventOrigin
  const std::string& originNamespace() const override { return ns_; }
  const std::string& originId() const override { return id_; }
  int64_t originIncarnation() const override { return record_.createdAtNs; }
  uint64_t lastHandledSeq() const override { return record_.lastSeq; }
  void recordHandledSeq(uint64_t shimSeq) override;
  void saveHandledSeq() override;
  void applyEvent(const TaskEvent& event) override;
  bool discarded() const override { return discarded_; }

  // Managed by the runtime and recovery.
  Phase phase() const { return phase_; }
  void setPhase(Phase phase);
  const TaskPaths& paths() const { return paths_; }
  TaskRecord& record() { return record_; }
  void setDiscarded() { discarded_ = true; }
  // A delete is under way (the record says so: markDeleting).
  bool deleting() const { return record_.deleting; }
  // Marks it in the record (the caller saves it) and wakes the waiters of
  // awaitDeleteDone when a delete gives up.
  void setDeleting(bool deleting);
  // A lost shim is being cleaned up (guards against doing it twice).
  bool reaping() const { return reaping_; }
  void setReaping(bool reaping) { reaping_ = reaping; }
  std::shared_ptr<ShimClient> client() const { return client_; }
  void setClient(std::shared_ptr<ShimClient> client) { client_ = std::move(client); }
  // The init was created (pid) — from create's answer, before its event.
  void noteCreated(uint32_t pid);
  // The init was started (a start reply): running, unless its exit (or a
  // delete) came first.
  void noteStarted(uint32_t pid);
  // Fills the cache from a state answer of the init.
  void noteState(const State& state);
  // Stopped with this exit, its shim gone: the cache and the record in
  // memory say so (the caller saves the record, off the loop); then
  // markLost() settles the task as Lost.
  void noteLost(const Exit& exit);
  void markLost();
  void markDeleted();
  // Called (by applyEvent) when the shim publishes the init's /tasks/delete
  // while no delete of berthd's is under way: one that gave up waiting for
  // the shim (see ShimRuntime::remove). Set by the runtime.
  std::function<void(std::shared_ptr<ShimTask>)> onDeletedByShim;

  // Waits until the phase is settled (Ready or Lost), at most `deadline`;
  // with `orStopped`, also returns once the init's exit is known (a lost
  // shim's task is stopped before it is settled: see reapLostShim).
  asio::awaitable<void> awaitSettled(std::chrono::milliseconds deadline, bool orStopped = false);
  // Waits until a delete under way has deleted the task or given up, at
  // most `deadline`.
  asio::awaitable<void> awaitDeleteDone(std::chrono::milliseconds deadline);
  // Waits until the task has handled shim seq `seq`, at most `deadline`.
  asio::awaitable<bool> awaitHandled(uint64_t seq, std::chrono::milliseconds deadline);
  // The client of a settled, connected task, for an operation; else throws.
  asio::awaitable<std::shared_ptr<ShimClient>> shimFor(const char* what);

 private:
  asio::awaitable<void> waitForChange(std::chrono::steady_clock::time_point until);
  void wakeWaiters();
  // Copies the cached status and pid into the record (saved with it next).
  void rememberStatus();

  std::string ns_;
  std::string id_;
  TaskRecord record_;
  TaskPaths paths_;
  Phase phase_;
  State cached_;
  bool discarded_ = false;
  bool reaping_ = false;
  std::shared_ptr<ShimClient> client_;
  std::vector<std::shared_ptr<asio::steady_timer>> waiters_;
};

}  // namespace berth
