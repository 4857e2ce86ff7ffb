// One task: the container's init process and its exec processes, driven
// through runc. All of it runs on the shim's one loop; sequential steps are
// coroutines. Plain C++ types only: shim/service.cc translates to the wire.
#pragma once

#include "common/asio.h"
#include "common/done_signal.h"
#include "common/reaper.h"
#include "shim/bundle.h"
#include "shim/cgroup_paths.h"
#include "shim/event_journal.h"
#include "shim/exit_file.h"
#include "shim/metrics.h"
#include "shim/ns_pins.h"
#include "shim/oom_watch.h"
#include "shim/process_io.h"
#include "shim/rootfs_mounts.h"
#include "shim/runc.h"
#include "shim/status.h"

#include "common/sealed_copy.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace berth::shim {

struct TaskConfig {
  std::string ns, id, bundle, stateDir, runtime, runcRoot;
  std::string cgroupParent = "/berth";
  SealedCopy runtimeCopy;  // berthd's copy of `runtime` to run it from (fd -1: none)
};

struct ExitInfo {
  uint32_t pid = 0;
  int waitStatus = 0;
  int64_t exitedAtNs = 0;
};

struct ProcessView {
  std::string execId;
  Status status = Status::Created;
  uint32_t pid = 0;
  std::optional<ExitInfo> exit;
  IoPaths io;
};

struct PidInfo {
  uint32_t pid;
  std::string info;
};

class Task {
 public:
  Task(asio::io_context& io, Reaper& reaper, TaskConfig config);

  // With a checkpoint dir, the init is restored from it at start.
  asio::awaitable<uint32_t> create(IoPaths io, std::vector<MountSpec> rootfs,
                                   std::string checkpoint);
  asio::awaitable<void> checkpoint(std::string imagePath, bool exit);
  asio::awaitable<uint32_t> start(std::string execId);
  ProcessView state(const std::string& execId) const;
  asio::awaitable<void> kill(std::string execId, int signal, bool all);
  // The process's exit once published (not-found for one deleted before it
  // ran). A promise, not a coroutine: dropped before that (berthd cancelled
  // the call, its client gone), it leaves no waiter behind.
  kj::Promise<ExitInfo> wait(std::string execId);
  asio::awaitable<ExitInfo> remove(std::string execId);
  void exec(const std::string& execId, const std::string& partialSpec, IoPaths io);
  asio::awaitable<std::vector<PidInfo>> pids();
  asio::awaitable<void> pause();
  asio::awaitable<void> resume();
  asio::awaitable<void> update(std::string resourcesJson);
  void closeIO(const std::string& execId);
  void resize(const std::string& execId, unsigned width, unsigned height);
  TaskMetrics stats() const;

  EventJournal& events() { return events_; }
  uint32_t initPid() const { return init_ ? init_->pid : 0; }
  bool deleted() const { return !init_ || init_->status == Status::Deleted; }
  bool created() const { return init_ != nullptr; }
  const TaskConfig& config() const { return config_; }

 private:
  struct Process {
    std::string execId;  // empty: the init
    Status status = Status::Created;
    uint32_t pid = 0;
    std::optional<ExitInfo> exit;
    IoPaths paths;
    ProcessIO io;
    std::string specFile;  // exec: the process.json handed to runc exec
    // Asked for before an exec's IO was there (not started, or still in
    // runc exec): applied once it is.
    bool ioAttached = false;  // exec: its start has attached its IO (the init's is at create)
    bool closeStdinPending = false;
    std::optional<std::pair<unsigned, unsigned>> sizePending;
    std::map<uint64_t, std::function<void()>> waiters;  // by key (Task::waiterKeys_)
    ExitFile exitFile;     // prepared before the process can exit
  };

  // The init (empty id) or the exec; nullptr if there is none.
  Process* lookup(const std::string& execId);
  const Process* lookup(const std::string& execId) const;
  Process& find(const std::string& execId);
  const Process& find(const std::string& execId) const;
  ProcessView view(const Process& p) const;
  void setStatus(Process& p, Action action);
  // The status `action` takes `p` to, or failed-precondition naming the
  // task (and exec) that refused it.
  Status allowed(const Process& p, Action action) const;
  // Reaper callbacks.
  void onExit(Process& p, int waitStatus);
  void afterOutputDrained(Process& p);
  void publishExit(Process& p);
  void maybeFinishInit();
  // Around runc start, pause and resume: an init exit meanwhile waits (see
  // initEventsAhead_); release after the operation's event, or on failure.
  void holdInitExit();
  void releaseInitExit();
  void writeExitFile(Process& p);
  // The init exited (reaped) or is a zombie, or there is none.
  bool initGone() const;
  // Throws the error a RuntimeRefused from runc stands for when the client
  // asked to `what` a task: failed-precondition if the init is gone, else
  // invalid-argument.
  [[noreturn]] void refusedBecause(const RuntimeRefused& e, const std::string& what) const;
  // Runs a runc call the client cannot have caused to fail (pause, resume,
  // kill, pids, checkpoint): runc's refusal is failed-precondition if the
  // init is gone (its exit not published yet), else as it is (internal).
  template <typename T>
  asio::awaitable<T> unlessStopped(asio::awaitable<T> call, const char* what);
  // Returns once `p` has an exit (reaped and published), or after `deadline`.
  asio::awaitable<void> exitOrDeadline(Process& p, std::chrono::milliseconds deadline);
  // Runs the process's waiters (each only posts its wake-up, so they run
  // after whatever the caller does next, an exec's erase included).
  void wakeWaiters(Process& p);
  // What a wait answers once woken: the exit, or not-found.
  kj::Promise<ExitInfo> waitAnswer(const std::string& execId);
  uint64_t waiterKeys_ = 0;
  std::shared_ptr<int> lifetime_ = std::make_shared<int>(0);  // (weak: "is the Task still here")
  uint32_t readPidFile(const std::string& path);
  // `runc delete --force` after a create or restore that failed other than
  // by runc's own refusal (logged, not thrown, if that fails too).
  asio::awaitable<void> removeWhatRuncLeft(const char* what);
  // An exec runc made but whose start failed after (its pty master or pid
  // file missing): SIGKILLed, its exit reaped unreported.
  void killUnattached(const std::string& execId, uint32_t pid, const std::optional<int>& exited);
  // After runc created or restored the init: watch it, find its cgroups.
  void adoptInit();
  std::string mountRecord() const { return config_.stateDir + "/rootfs-mounts"; }

  asio::io_context& io_;
  Reaper& reaper_;
  TaskConfig config_;
  Runc runc_;
  EventJournal events_;
  OomWatch oom_;
  PreparedBundle bundle_;  // what runc runs (see shim/bundle.h)
  CgroupPaths cgroups_;  // found at create, kept after the init is gone
  NamespacePins namespaces_;  // mnt and net, from create to delete: see ns_pins.h
  std::unique_ptr<Process> init_;
  std::map<std::string, std::unique_ptr<Process>> execs_;
  bool initExitPending_ = false;  // init reaped, its exit waits for the execs'
  std::string restoreFrom_;       // checkpoint image dir: start restores it
  // runc start, pause or resume under way: the init's exit, if it comes
  // meanwhile, waits for their event (start, paused, resumed comes first).
  int initEventsAhead_ = 0;
  // Calls under way that a freeze or thaw of the task must not overlap
  // (pause has its own status, Pausing; the contract has no word for these):
  // an exec's start (its runc init joins the cgroup: frozen half-made, runc
  // exec hangs), a kill --all (runc freezes, signals and thaws), a resume (a
  // second would find the task thawed, or send a second /tasks/resumed), a
  // checkpoint (criu freezes). Shared with the calls' frames, which can
  // outlive the Task (a shim stopped mid-call).
  struct InFlight {
    int execStarts = 0, killAlls = 0, resumes = 0, checkpoints = 0;
  };
  std::shared_ptr<InFlight> inFlight_ = std::make_shared<InFlight>();
  // runc resume for a SIGKILL sent to a frozen task; never throws.
  asio::awaitable<void> thawForSigkill();
  // True once no exec start is under way, false after PATIENCE.
  asio::awaitable<bool> execStartsDone(std::chrono::milliseconds patience);
  // One more of InFlight's COUNTER for the life of the returned mark.
  std::shared_ptr<void> markInFlight(int InFlight::*counter);
  // failed-precondition "cannot WHAT task ID while ... is under way" if one of
  // the above (exec starts and kill --alls only where asked) or a pause is.
  void checkFreezerFree(const std::string& what, bool execStarts, bool killAlls) const;
  // The start of the init under way (not done), or the last one (done): a
  // delete of the init waits for it.
  std::shared_ptr<DoneSignal> initStarting_;
  // The delete of the init under way (not done), or the last one (done): a
  // second delete waits for it, and gets its answer if it deleted the task.
  struct InitDelete {
    explicit InitDelete(const asio::any_io_executor& loop) : done(loop) {}
    DoneSignal done;
    std::optional<ExitInfo> answer;
  };
  std::shared_ptr<InitDelete> deletingInit_;
  // A SIGKILL was sent to the init: a pause waiting for exec starts gives up.
  bool sigkilled_ = false;
  // Returns once the create under way (if any) is done.
  asio::awaitable<void> awaitCreate();
  // The create under way, if any: a start or delete of the init sent while it
  // runs waits until it is done (awaitCreate). Shared with the create's own
  // frame, which sets it however it ends, even after the Task is gone (a
  // shim stopped mid-create destroys the frame with the io_context).
  std::shared_ptr<DoneSignal> creating_;
};

// Exec env: the overlay's KEY=VALUE entries replace the task's same keys.
nlohmann::json mergeEnv(const nlohmann::json& base, const nlohmann::json& overlay);

}  // namespace berth::shim
