#include "shim/task.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/quiet_timers.h"
#include "common/runc_deadlines.h"
#include "common/timeutil.h"
#include "common/wire_status.h"
#include "shim/exec_fifo.h"
#include "shim/exec_wait.h"
#include "shim/runc_destroy.h"

#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <exception>
#include <functional>

namespace berth::shim {

namespace {

// An exec's pid and exit files: STATE/NAME.pid, STATE/exit/NAME. (Prefixed:
// an exec may be named "init", and the init's exit file is read after the
// shim is gone as the task's exit.)
std::string execFilesName(const std::string& execId) { return "exec-" + execId; }
std::string execPidFile(const std::string& stateDir, const std::string& execId) {
  return stateDir + "/" + execFilesName(execId) + ".pid";
}
// An exec's console socket, named after it; a long exec id is hashed so
// that runc's path to it (/proc/PID/fd/N/NAME for a long state dir, see
// SocketPath) still fits a socket address.
std::string consoleSocketName(const std::string& execId) {
  if (execId.size() <= 32) return "console-" + execId + ".sock";
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(execId));
  return "console-h-" + std::string(hex) + ".sock";  // '-' after h: no exec id's name
}
// As long as `runc start` is given (shim/runc.cc).
constexpr std::chrono::milliseconds kStartDeadline = kRuncShortCall;
// How long a released init may take to exec (shim/exec_wait.h).
constexpr std::chrono::milliseconds kExecDeadline{2000};
// How long a pause or checkpoint lets an exec's start under way finish (it
// usually takes milliseconds; berthd gives a pause 30 s in all).
constexpr std::chrono::milliseconds kExecStartPatience{5000};
// How long a terminal's output may drain after its process's exit before the
// exit goes out anyway (its reader is stuck or gone).
constexpr std::chrono::milliseconds kOutputDrainLimit{5000};
// runc delete --force returns once the init is dead; we reap it just after.
// Its exit is published after those of the execs it took along, which may
// wait for their output up to kOutputDrainLimit.
constexpr std::chrono::milliseconds kExitAfterForcedDelete = kOutputDrainLimit + std::chrono::seconds(2);
}  // namespace

nlohmann::json mergeEnv(const nlohmann::json& base, const nlohmann::json& overlay) {
  // KEY=VALUE entries: the overlay's win, the task's others are kept (PATH).
  nlohmann::json out = nlohmann::json::array();
  auto key = [](const nlohmann::json& e) {
    auto s = e.is_string() ? e.get<std::string>() : std::string();
    return s.substr(0, s.find('='));
  };
  for (const auto& e : base) {
    bool replaced = false;
    for (const auto& o : overlay) replaced = replaced || key(o) == key(e);
    if (!replaced) out.push_back(e);
  }
  for (const auto& o : overlay) out.push_back(o);
  return out;
}

Task::Task(asio::io_context& io, Reaper& reaper, TaskConfig config)
    : io_(io), reaper_(reaper), config_(std::move(config)),
      runc_(reaper, config_.runtime, config_.runtimeCopy, config_.runcRoot,
            config_.stateDir + "/runc.log.json"),
      events_(config_.ns), oom_(io, [this] {
        events_.emit([this](auto p) { p.initOom().setContainerId(config_.id); });
      }) {
  config_.runtimeCopy = {};  // runc_'s now: it closes the fd when the copy goes stale
}

Task::Process& Task::find(const std::string& execId) {
  return const_cast<Process&>(static_cast<const Task*>(this)->find(execId));
}

Task::Process* Task::lookup(const std::string& execId) {
  return const_cast<Process*>(static_cast<const Task*>(this)->lookup(execId));
}

const Task::Process* Task::lookup(const std::string& execId) const {
  if (execId.empty()) return init_.get();
  auto it = execs_.find(execId);
  return it == execs_.end() ? nullptr : it->second.get();
}

const Task::Process& Task::find(const std::string& execId) const {
  if (const Process* p = lookup(execId)) return *p;
  if (execId.empty()) throw notFound("task " + config_.id + " is not created");
  throw notFound("process " + execId + " does not exist in task " + config_.id);
}

ProcessView Task::view(const Process& p) const {
  Status status = p.status;
  // An exec process of a frozen task is frozen too.
  if (!p.execId.empty() && status == Status::Running && init_ &&
      (init_->status == Status::Paused || init_->status == Status::Pausing)) {
    status = init_->status;
  }
  return {p.execId, status, p.pid, p.exit, p.paths};
}

ProcessView Task::state(const std::string& execId) const { return view(find(execId)); }

void Task::setStatus(Process& p, Action action) { p.status = allowed(p, action); }

Status Task::allowed(const Process& p, Action action) const {
  if (Status to; transition(p.status, action, to)) return to;
  std::string task = "task " + config_.ns + "/" + config_.id;
  return transitionOrThrow(p.status, action, p.execId.empty() ? task : "exec " + p.execId + " of " + task);
}

uint32_t Task::readPidFile(const std::string& path) {
  auto text = readFile(path);
  if (!text) throw internal("runc wrote no pid file at " + path);
  try {
    return static_cast<uint32_t>(std::stoul(*text));
  } catch (...) {
    throw internal("pid file " + path + " holds \"" + *text + "\", not a pid");
  }
}

asio::awaitable<uint32_t> Task::create(IoPaths paths, std::vector<MountSpec> rootfs,
                                       std::string checkpoint) {
  if (init_) throw alreadyExists("task " + config_.id + " is already created");
  bundle_ = prepareBundle(config_.bundle, config_.stateDir,
                          config_.cgroupParent + "/" + config_.ns + "/" + config_.id,
                          paths.terminal);
  auto p = std::make_unique<Process>();
  p->paths = paths;
  p->io = ProcessIO::open(io_, paths, config_.stateDir + "/console-init.sock");
  std::string pidFile = config_.stateDir + "/init.pid";
  init_ = std::move(p);  // claims the task against a second create
  creating_ = std::make_shared<DoneSignal>(io_.get_executor());
  struct Done {  // however the create ends, a start waiting for it goes on
    std::shared_ptr<DoneSignal> signal;
    ~Done() { signal->set(); }
  } done{creating_};
  try {
    mountRootfs(rootfs, bundle_.rootfs, mountRecord());
  } catch (...) {
    init_.reset();
    throw;
  }
  if (!checkpoint.empty()) {
    // Restored at start, as containerd does: nothing runs until then.
    if (!pathExists(checkpoint)) {
      init_.reset();
      unmountRootfs(mountRecord());
      throw invalidArgument("checkpoint " + checkpoint + " does not exist");
    }
    restoreFrom_ = checkpoint;
  } else {
    std::exception_ptr failed;
    std::optional<std::string> refusal;  // runc's own words, when it refused
    try {
      co_await runc_.create(config_.id, bundle_.dir, pidFile, init_->io.stdio(),
                            init_->io.consoleSocketPath());
      co_await init_->io.attachConsole();
    } catch (Error& e) {
      failed = std::current_exception();
      if (dynamic_cast<const RuntimeRefused*>(&e)) refusal = e.message();
    }
    if (failed) {
      // (init_ stays until the clean-up is done: it claims the task against
      // a second create meanwhile)
      // berthd takes this create's failure for one that left nothing.
      if (!refusal) co_await removeWhatRuncLeft("create");
      unmountRootfs(mountRecord());
      init_.reset();
      // A bundle runc cannot use is the caller's to fix.
      if (refusal) throw invalidArgument(*refusal);
      std::rethrow_exception(failed);
    }
    init_->io.releaseProcessSide();
    init_->pid = readPidFile(pidFile);
    // An init that died already (killed right after runc create) is reaped
    // in adoptInit: its exit goes out after the create event, not before.
    holdInitExit();
    adoptInit();
  }
  uint32_t pid = init_->pid;
  events_.emit([&](auto e) {
    auto c = e.initCreate();
    c.setContainerId(config_.id);
    c.setBundle(config_.bundle);
    c.setPid(pid);
    c.setCheckpoint(checkpoint);
    auto mounts = c.initRootfs(static_cast<unsigned>(rootfs.size()));
    for (unsigned i = 0; i < rootfs.size(); ++i) {
      mounts[i].setType(rootfs[i].type);
      mounts[i].setSource(rootfs[i].source);
      mounts[i].setTarget(rootfs[i].target);
      auto opts = mounts[i].initOptions(static_cast<unsigned>(rootfs[i].options.size()));
      for (unsigned k = 0; k < rootfs[i].options.size(); ++k) opts.set(k, rootfs[i].options[k]);
    }
    auto io = c.initIo();
    io.setStdin(paths.stdin);
    io.setStdout(paths.stdout);
    io.setStderr(paths.stderr);
    io.setTerminal(paths.terminal);
  });
  if (checkpoint.empty()) releaseInitExit();
  co_return pid;
}

void Task::adoptInit() {
  // The init is our child once runc has exited (we are its subreaper),
  // which may be a moment after its pid file was in place; if it already
  // died and was reaped, the reaper kept its exit and hands it over here.
  Process* self = init_.get();
  self->exitFile.prepare(config_.stateDir + "/exit", "init");
  reaper_.watch(static_cast<pid_t>(init_->pid), [this, self](int st) { onExit(*self, st); });
  cgroups_ = cgroupPathsOf(static_cast<int>(init_->pid));
  oom_.arm(cgroups_);
  namespaces_.pin(static_cast<pid_t>(init_->pid));
}

void Task::exec(const std::string& execId, const std::string& partialSpec, IoPaths paths) {
  if (!init_) throw notFound("task " + config_.id + " is not created");
  Status ignored;
  if (init_->exit || !transition(init_->status, Action::Exec, ignored)) {
    throw failedPrecondition("cannot exec in a " + std::string(statusName(init_->status)) +
                             " task");
  }
  if (execId == config_.id) throw invalidArgument("exec id \"" + execId + "\" is the task's own id");
  if (execs_.count(execId)) {
    throw alreadyExists("exec process " + execId + " already exists in task " + config_.id);
  }
  // The exec's spec: the task's process with the client's fields laid over it.
  nlohmann::json process;
  try {
    process = bundleProcess(bundle_.dir);
    if (!partialSpec.empty()) {
      auto overlay = nlohmann::json::parse(partialSpec);
      if (!overlay.is_object()) throw invalidArgument("exec spec is not a JSON object");
      for (auto& [k, v] : overlay.items()) {
        if (k == "env" && v.is_array() && process["env"].is_array()) {
          process["env"] = mergeEnv(process["env"], v);
        } else {
          process[k] = v;
        }
      }
    }
  } catch (nlohmann::json::exception& e) {
    throw invalidArgument("exec spec: " + std::string(e.what()));
  }
  if (!process.contains("args") || !process["args"].is_array() || process["args"].empty()) {
    throw invalidArgument("exec spec has no args");
  }
  process["terminal"] = paths.terminal;
  auto p = std::make_unique<Process>();
  p->execId = execId;
  p->paths = paths;
  p->specFile = config_.stateDir + "/exec-" + execId + ".json";
  replaceFile(p->specFile, process.dump(), 0600);
  execs_[execId] = std::move(p);
  events_.emit([&](auto e) {
    auto a = e.initExecAdded();
    a.setContainerId(config_.id);
    a.setExecId(execId);
  });
}

asio::awaitable<void> Task::awaitCreate() {
  if (!creating_) co_return;
  auto creating = creating_;  // (the signal outlives this task if the shim stops)
  co_await creating->wait();
}

asio::awaitable<uint32_t> Task::start(std::string execId) {
  // Sent right behind the create (berthd's run): it starts once that is
  // done, or fails as a start of a task never created.
  if (execId.empty()) co_await awaitCreate();
  Process& p = find(execId);
  if (p.status != Status::Created) allowed(p, Action::Start);
  if (execId.empty()) {
    // The init's status changes only once its start is done: a second start
    // meanwhile would race the first for runc's exec fifo.
    if (initStarting_ && !initStarting_->done()) {
      throw failedPrecondition("cannot start: the init is being started");
    }
    // (set on both ways out, not by a guard: the frame of a start the shim
    // stops in is destroyed after the task)
    initStarting_ = std::make_shared<DoneSignal>(io_.get_executor());
    holdInitExit();
    std::exception_ptr failed;
    bool restoreRan = false, restoreRefused = false;
    try {
      if (restoreFrom_.empty()) {
        auto runcInit = executableOf(static_cast<pid_t>(p.pid));  // blocked on its fifo: still runc
        bool started = false;  // through runc's exec fifo, where it can be
        if (!bundle_.startHooks) {
          started = co_await startThroughExecFifo(
              runc_.execFifo(config_.id), [this] { return initGone(); }, kStartDeadline);
        }
        if (!started) {
          // As on the fifo's path: an init that died before its start (a
          // zombie not reaped yet, too) is a wrong state, not runc's error.
          if (initGone()) throw failedPrecondition(kInitDeadBeforeStart);
          try {
            co_await runc_.start(config_.id);
          } catch (const RuntimeRefused&) {
            // (killed while runc started it: "cannot start a container that has stopped")
            if (initGone()) throw failedPrecondition(kInitDeadBeforeStart);
            throw;
          }
        }
        if (runcInit && !co_await waitUntilExeced(static_cast<pid_t>(p.pid), *runcInit, kExecDeadline)) {
          BERTH_LOG(warn) << "task " << config_.ns << "/" << config_.id << ": init pid " << p.pid
                          << " still runs runc's init " << kExecDeadline.count()
                          << " ms after start; answering the start anyway";
        }
      } else {
        std::string problem = co_await runc_.criuProblem();
        if (!problem.empty()) throw failedPrecondition("cannot restore: " + problem);
        std::string pidFile = config_.stateDir + "/init.pid";
        restoreRan = true;
        try {
          co_await runc_.restore(config_.id, bundle_.dir, restoreFrom_,
                                 config_.stateDir + "/criu-restore", pidFile, p.io.stdio(),
                                 p.io.consoleSocketPath());
        } catch (const RuntimeRefused&) {
          restoreRefused = true;  // runc's own failure: it cleaned up after itself
          throw;
        }
        co_await p.io.attachConsole();
        p.io.releaseProcessSide();
        p.pid = readPidFile(pidFile);
        restoreFrom_.clear();
        adoptInit();
      }
    } catch (...) {
      failed = std::current_exception();
    }
    if (failed) {
      // A restore killed at its deadline, or whose console or pid file
      // failed, may have left a running container nobody tracks; a retry
      // would meet it ("container exists").
      if (restoreRan && !restoreRefused) co_await removeWhatRuncLeft("restore");
      initStarting_->set();
      releaseInitExit();
      std::rethrow_exception(failed);
    }
    initStarting_->set();
    // The init may have exited (and been reaped) while runc start ran.
    if (p.status == Status::Created) setStatus(p, Action::Start);
    uint32_t pid = p.pid;
    events_.emit([&](auto e) {
      auto s = e.initStart();
      s.setContainerId(config_.id);
      s.setPid(pid);
    });
    releaseInitExit();  // an exit reaped during start goes out only now, after start
    co_return pid;
  }
  if (init_->exit || (init_->status != Status::Running && init_->status != Status::Created)) {
    throw failedPrecondition("cannot start an exec process in a " +
                             std::string(statusName(init_->status)) + " task");
  }
  checkFreezerFree("start an exec process in", false, true);
  setStatus(p, Action::Start);  // claims it against a second start
  auto starting = markInFlight(&InFlight::execStarts);  // a pause waits for it
  std::string pidFile = execPidFile(config_.stateDir, execId);
  // The init's exit waits while runc exec runs: an exec made as the init
  // dies is started (and killed, below) before the init's exit goes out,
  // which stays the task's last exit.
  holdInitExit();
  bool made = false;  // runc exec made the process
  // Its exit, if it comes before the start is done: passed on after the
  // start's event. Watched from the moment its pid is known, so that a
  // failed start kills our process (or runc's, about to be ours), never one
  // that took a freed pid.
  auto early = std::make_shared<std::optional<int>>();
  try {
    p.io = ProcessIO::open(io_, p.paths, config_.stateDir + "/" + consoleSocketName(execId));
    p.exitFile.prepare(config_.stateDir + "/exit", execFilesName(execId));
    try {
      co_await runc_.exec(config_.id, p.specFile, pidFile, p.io.stdio(), p.io.consoleSocketPath());
    } catch (const RuntimeRefused& e) {
      // No such binary, a bad cwd or user: see refusedBecause.
      refusedBecause(e, "start an exec process in");
    }
    made = true;
    p.pid = readPidFile(pidFile);
    reaper_.watch(static_cast<pid_t>(p.pid), [early](int st) { *early = st; });
    co_await p.io.attachConsole();
    p.io.releaseProcessSide();
    p.ioAttached = true;
  } catch (...) {
    p.ioAttached = false;
    // A process we could not attach (no pty master, no pid file) would run
    // on with nobody to report its exit, or to wait for it before the init's.
    if (made) killUnattached(execId, p.pid, *early);
    p.pid = 0;
    setStatus(p, Action::StartFailed);
    // A retry opens its own: this one's console socket would still listen
    // at the path and refuse it (already-exists).
    p.io = ProcessIO{};
    p.exitFile = ExitFile{};
    releaseInitExit();
    throw;
  }
  // What the client asked for before the IO was there (best effort: a
  // resize that fails must not fail a start that worked).
  try {
    if (p.sizePending) p.io.resize(p.sizePending->first, p.sizePending->second);
    if (p.closeStdinPending) p.io.closeStdin();
  } catch (const std::exception& e) {
    BERTH_LOG(warn) << "task " << config_.ns << "/" << config_.id << ": exec " << execId
                    << ": applying what came before its start: " << e.what();
  }
  uint32_t pid = p.pid;
  events_.emit([&](auto e) {
    auto s = e.initExecStarted();
    s.setContainerId(config_.id);
    s.setExecId(execId);
    s.setPid(pid);
  });
  Process* self = &p;
  if (*early) {
    onExit(p, **early);
  } else {
    reaper_.watch(static_cast<pid_t>(pid), [this, self](int st) { onExit(*self, st); });
  }
  // The init died meanwhile: this exec goes too, as those it outlived did
  // (afterOutputDrained), and the init's exit follows its exit.
  if (initExitPending_ && !p.exit) ::kill(static_cast<pid_t>(pid), SIGKILL);
  releaseInitExit();
  co_return pid;
}

void Task::onExit(Process& p, int waitStatus) {
  p.exit = ExitInfo{p.pid, waitStatus, nowNs()};
  writeExitFile(p);
  auto console = p.io.console();
  if (!console || console->drained()) {
    afterOutputDrained(p);
  } else {
    // A terminal's output is copied by us: report the exit once the pty is
    // drained (a client sees all of it), or after a bounded wait if the
    // output's reader is stuck.
    auto done = std::make_shared<bool>(false);
    Process* self = &p;
    auto finish = [this, self, done]() {
      if (*done) return;
      *done = true;
      afterOutputDrained(*self);
    };
    console->whenDrained(finish);
    auto timer = std::make_shared<asio::steady_timer>(io_, kOutputDrainLimit);
    timer->async_wait([timer, finish](const boost::system::error_code&) { finish(); });
  }
  // Logged once the exit's event is acknowledged (as the reap is started,
  // see main.cc), or kReapDelay from now when nothing is in flight: not in
  // the exit's path, nor right after its write, on the CPU berthd may have
  // been woken on.
  auto log = [name = p.execId.empty() ? config_.id : p.execId, pid = p.pid, waitStatus] {
    BERTH_LOG(info) << "process " << name << " (pid " << pid << ") " << describeWaitStatus(waitStatus);
  };
  if (!events_.afterDelivered(log)) {
    asio::post(io_, [this, log] {
      auto timer = std::make_shared<asio::steady_timer>(io_, Reaper::kReapDelay);
      timer->async_wait([timer, log](const boost::system::error_code&) { log(); });
    });
  }
}

void Task::afterOutputDrained(Process& p) {
  p.io.stopStdin();
  if (p.execId.empty()) {
    initExitPending_ = true;
    // The init is gone: exec processes that outlive it (host pid namespace)
    // are killed, and the init's exit waits until theirs are published.
    for (auto& [id, e] : execs_) {
      if (e->pid && !e->exit) ::kill(static_cast<pid_t>(e->pid), SIGKILL);
    }
    maybeFinishInit();
    return;
  }
  oom_.check();  // an OOM kill is published before the exit it caused
  publishExit(p);
  if (initExitPending_) maybeFinishInit();
}

void Task::holdInitExit() { ++initEventsAhead_; }

void Task::releaseInitExit() {
  --initEventsAhead_;
  maybeFinishInit();
}

void Task::maybeFinishInit() {
  if (!initExitPending_ || !init_) return;
  for (auto& [id, e] : execs_) {
    // Still running, or its exit recorded but not published (a terminal's
    // output draining): the init's exit comes last.
    if (e->pid && e->status == Status::Running) return;
  }
  // An exit reaped while `runc start`, `pause` or `resume` was still running
  // is published after their event (they call back here).
  if (initEventsAhead_ > 0) return;
  initExitPending_ = false;
  oom_.check();  // an OOM kill is published before the exit it caused
  publishExit(*init_);
}

void Task::publishExit(Process& p) {
  Status to;
  if (transition(p.status, Action::Exit, to)) {
    p.status = to;
  } else {  // (not thrown: this runs from the reaper)
    BERTH_LOG(error) << "task " << config_.ns << "/" << config_.id << ": exit of a "
                     << statusName(p.status) << " process " << (p.execId.empty() ? config_.id : p.execId);
  }
  ExitInfo x = *p.exit;
  events_.emit([&](auto e) {
    auto ex = e.initExit();
    ex.setContainerId(config_.id);
    ex.setId(p.execId.empty() ? config_.id : p.execId);
    ex.setPid(x.pid);
    setExitStatus(ex.initStatus(), x.waitStatus);
    ex.setExitedAtNs(x.exitedAtNs);
  });
  wakeWaiters(p);
}

void Task::wakeWaiters(Process& p) {
  auto waiters = std::move(p.waiters);
  p.waiters.clear();
  for (auto& [key, w] : waiters) w();
}

void Task::writeExitFile(Process& p) {
  try {
    p.exitFile.write(std::to_string(p.exit->pid) + " " + std::to_string(p.exit->waitStatus) + " " +
                     std::to_string(p.exit->exitedAtNs) + "\n");
  } catch (std::exception& e) {
    BERTH_LOG(error) << "writing the exit file: " << e.what();
  }
}

asio::awaitable<void> Task::kill(std::string execId, int signal, bool all) {
  Process& p = find(execId);
  // `all` reaches, through runc, what else runs in the task's cgroup after
  // the init's exit: for the init only. An exec that exited has nothing to
  // signal, and once its exit is reaped its pid may be another process's.
  if (p.exit && (!all || !execId.empty())) {
    throw notFound("process " + (execId.empty() ? config_.id : execId) + " has already exited");
  }
  if (execId.empty()) {
    if (!p.exit) allowed(p, Action::Kill);  // (a deleted task: refused)
    if (p.pid == 0) {
      throw failedPrecondition("cannot kill a task created from a checkpoint before its start");
    }
    std::shared_ptr<void> killingAll;
    bool paused = p.status == Status::Paused;
    if (signal == SIGKILL) {
      sigkilled_ = true;  // (cleared again if the kill fails)
      // A pause under way (it may freeze at any moment): thaw after, too.
      if (p.status == Status::Pausing) paused = true;
    }
    if (all) {
      // runc's freeze and thaw around the signal must not cross a pause's, a
      // resume's or criu's, nor (on a paused task) another kill --all's:
      // `paused` must still hold after the call. A SIGKILL always goes: it
      // ends what it would cross, and nothing is frozen again after it.
      if (signal != SIGKILL) checkFreezerFree("kill --all", false, paused);
      killingAll = markInFlight(&InFlight::killAlls);
    }
    try {
      co_await unlessStopped(runc_.kill(config_.id, signal, all), "kill");
    } catch (...) {
      if (signal == SIGKILL && !p.exit) sigkilled_ = false;
      throw;
    }
    if (paused && signal == SIGKILL) {
      // runc 1.1 thaws for SIGKILL itself; older ones do not. The status
      // stays paused until the exit, as after any signal: no /tasks/resumed.
      co_await thawForSigkill();
    } else if (paused && all) {
      // runc kill --all freezes, signals and thaws: freeze it again.
      try {
        co_await runc_.pause(config_.id);
      } catch (const RuntimeRefused& e) {
        if (!initGone()) throw;  // (the signal ended it: nothing left to freeze)
      }
    }
    co_return;
  }
  if (p.pid == 0) throw failedPrecondition("cannot kill exec process " + execId + ": not started");
  if (init_->status == Status::Paused || init_->status == Status::Pausing) {
    // Frozen: not even SIGKILL would land until the resume, and thawing the
    // cgroup for it would resume the whole task.
    throw failedPrecondition("cannot kill exec process " + execId +
                             " of a paused task; resume the task first");
  }
  // It has not exited (its exit is recorded before it is reaped): a child
  // not reaped yet (ours, or runc's a moment after its pid file), whose pid
  // cannot have been reused.
  if (::kill(static_cast<pid_t>(p.pid), signal) != 0) {
    throw systemError("kill exec " + execId, errno);
  }
  co_return;
}

kj::Promise<ExitInfo> Task::wait(std::string execId) {
  Process* p = &find(execId);
  // (an exec never started in a deleted task never will be: answered now)
  bool never = !execId.empty() && p->status == Status::Created && init_->status == Status::Deleted;
  if (never || p->status == Status::Stopped || p->status == Status::Deleted) return waitAnswer(execId);
  struct Holder {
    kj::Own<kj::PromiseFulfiller<void>> own;
  };
  auto paf = kj::newPromiseAndFulfiller<void>();
  auto holder = std::make_shared<Holder>(Holder{kj::mv(paf.fulfiller)});
  uint64_t key = ++waiterKeys_;
  // (posted: it runs after whatever woke it, an exec's erase included)
  p->waiters[key] = [holder, this] {
    asio::post(io_, [holder] {
      if (holder->own->isWaiting()) holder->own->fulfill();
    });
  };
  return paf.promise.then([this, execId] { return waitAnswer(execId); })
      .attach(kj::defer([this, execId, key, alive = std::weak_ptr<int>(lifetime_)] {
        // Dropped unanswered (the caller went away): the waiter goes too.
        if (alive.expired()) return;
        Process* q = lookup(execId);
        if (q && q->waiters.erase(key) > 0) {
          BERTH_LOG(debug) << "task " << config_.ns << "/" << config_.id << ": a wait for "
                           << (execId.empty() ? config_.id : execId) << " was dropped by its caller";
        }
      }));
}

kj::Promise<ExitInfo> Task::waitAnswer(const std::string& execId) {
  try {
    const Process& p = find(execId);  // woken by its exit, or by its delete (an exec: not-found)
    // Deleted before it ever ran (an exec never started, a task created
    // from a checkpoint): there is no exit to wait for.
    if (!p.exit) {
      throw notFound("process " + (execId.empty() ? config_.id : execId) + " was deleted before it ran");
    }
    return *p.exit;
  } catch (...) {
    return toKjException(std::current_exception());
  }
}

bool Task::initGone() const {
  return !init_ || init_->exit || !executableOf(static_cast<pid_t>(init_->pid));
}

void Task::refusedBecause(const RuntimeRefused& e, const std::string& what) const {
  // What runc refuses in a running task (a process it cannot start,
  // resources it cannot apply) is the caller's to fix, in runc's own words,
  // as a bundle it refuses at create is; unless the task stopped meanwhile
  // (reaped or not yet).
  if (initGone()) throw failedPrecondition("cannot " + what + " a stopped task");
  throw invalidArgument(e.message());
}

asio::awaitable<void> Task::removeWhatRuncLeft(const char* what) {
  // runc was killed (its deadline, a signal), or it made the container and
  // what followed failed: remove what it may have left, or the next create
  // or restore of this id meets it ("container with id exists").
  try {
    co_await runc_.remove(config_.id, true);
  } catch (const std::exception& e) {
    BERTH_LOG(warn) << "removing what the failed " << what << " of " << config_.id << " left: " << e.what();
  }
}

void Task::killUnattached(const std::string& execId, uint32_t pid, const std::optional<int>& exited) {
  if (pid == 0) {
    BERTH_LOG(error) << "task " << config_.ns << "/" << config_.id << ": exec " << execId
                     << " failed after runc made it, and its pid is unknown (no pid file)";
    return;
  }
  // Watched since its pid was read, so its zombie (ours, as its subreaper,
  // or runc's still) is not reaped before the exit is handed over: not
  // exited yet, its pid is still its own.
  if (!exited) ::kill(static_cast<pid_t>(pid), SIGKILL);
  BERTH_LOG(warn) << "task " << config_.ns << "/" << config_.id << ": exec " << execId
                  << " failed after runc made it (pid " << pid << "): killed";
}

template <typename T>
asio::awaitable<T> Task::unlessStopped(asio::awaitable<T> call, const char* what) {
  try {
    co_return co_await std::move(call);
  } catch (const RuntimeRefused& e) {
    if (initGone()) throw failedPrecondition(std::string("cannot ") + what + " a stopped task");
    throw;
  }
}

asio::awaitable<void> Task::exitOrDeadline(Process& p, std::chrono::milliseconds deadline) {
  // Until the exit is published (publishExit wakes the waiters), not only
  // reaped: an exit held back (an exec start in flight) must still go out
  // before the delete's event, and before berthd shuts the shim down.
  if (p.exit && p.status == Status::Stopped) co_return;
  auto timer = std::make_shared<asio::steady_timer>(io_, deadline);
  p.waiters[++waiterKeys_] = [timer] { timer->cancel(); };
  boost::system::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  settleTimerfd(io_);  // a cancelled timer must not wake the idle shim later
}

asio::awaitable<ExitInfo> Task::remove(std::string execId) {
  // A delete sent while the create runs (berthd undoing a create it gave up
  // waiting for) waits for it: runc would find nothing to delete yet, and
  // the container the create then made would be left behind.
  if (execId.empty()) co_await awaitCreate();
  // The init is Created until its start is done: a delete meanwhile would
  // kill it under the start, and its /tasks/delete could precede the
  // start's. It waits: then a started task is refused, a failed start's not.
  if (execId.empty() && initStarting_ && !initStarting_->done()) {
    auto starting = initStarting_;  // (outlives the task if the shim stops)
    co_await starting->wait();
  }
  // A second delete of the init while one is in runc (berthd gave up on the
  // first after its deadline and sent another) waits for it: both would
  // have run runc delete and sent /tasks/delete. After it, the task is
  // deleted (refused below), or the first failed and this one tries anew.
  while (execId.empty() && deletingInit_ && !deletingInit_->done.done()) {
    auto deleting = deletingInit_;
    co_await deleting->done.wait();
    if (deleting->answer) co_return *deleting->answer;  // (its one /tasks/delete is this one's too)
  }
  Process& p = find(execId);
  Status next = allowed(p, Action::Delete);
  ExitInfo exit = p.exit.value_or(ExitInfo{p.pid, 0, 0});
  if (!execId.empty()) {
    // Its files go with it: a task with thousands of execs (probes) must
    // not fill the state dir's tmpfs, and a later exec of this id must not
    // find the last one's exit file.
    if (!p.specFile.empty()) ::unlink(p.specFile.c_str());
    ::unlink(execPidFile(config_.stateDir, execId).c_str());
    ::unlink((config_.stateDir + "/exit/" + execFilesName(execId)).c_str());
    wakeWaiters(p);  // (an exec never started: they get not-found)
    execs_.erase(execId);
    co_return exit;
  }
  deletingInit_ = std::make_shared<InitDelete>(io_.get_executor());
  auto thisDelete = deletingInit_;
  std::shared_ptr<void> deleting(nullptr, [thisDelete](void*) { thisDelete->done.set(); });
  // A stopped init (reaped by us) leaves runc little to do: see runc_destroy.h.
  bool created = p.status == Status::Created;
  // (A task created from a checkpoint has no process before its start.)
  bool killsInit = created && p.pid != 0;
  if (p.status != Status::Stopped || !destroyStoppedContainer(runc_.containerDir(config_.id))) {
    co_await runc_.remove(config_.id, /*force=*/created);
  }
  if (killsInit) {
    // runc delete --force killed the init, unless runc no longer knew the
    // container (its state removed by hand): then it is ours to kill. The pid
    // still names the init: the shim, its parent, has not reaped it.
    if (!p.exit) ::kill(static_cast<pid_t>(p.pid), SIGKILL);
    // Its exit, published as /tasks/exit and answered to waiters, is this
    // delete's too.
    co_await exitOrDeadline(p, kExitAfterForcedDelete);
    if (p.exit) exit = *p.exit;
  }
  namespaces_.release();  // before the rootfs goes: the container's copy of it goes with this
  unmountRootfs(mountRecord());
  p.status = next;  // (Deleted: from Created or Stopped alike, whichever it is now)
  wakeWaiters(p);  // (a task that never ran: they get not-found)
  for (auto& [id, e] : execs_) {
    if (e->status == Status::Created) wakeWaiters(*e);  // never started: not-found too
  }
  events_.emit([&](auto e) {
    auto d = e.initDelete();
    d.setContainerId(config_.id);
    d.setId(config_.id);
    d.setPid(exit.pid);
    if (exit.exitedAtNs == 0) {
      d.initStatus().setNone();
    } else {
      setExitStatus(d.initStatus(), exit.waitStatus);
    }
    d.setExitedAtNs(exit.exitedAtNs);
  });
  thisDelete->answer = exit;
  co_return exit;
}

asio::awaitable<std::vector<PidInfo>> Task::pids() {
  if (!init_) throw notFound("task " + config_.id + " is not created");
  if (init_->pid == 0) throw failedPrecondition("a task created from a checkpoint has no processes before its start");
  auto pids = co_await unlessStopped(runc_.ps(config_.id), "list the processes of");
  std::vector<PidInfo> out;
  for (int pid : pids) {
    std::string info;
    if (static_cast<uint32_t>(pid) == init_->pid) info = "init";
    for (auto& [id, e] : execs_) {
      if (e->pid == static_cast<uint32_t>(pid)) info = id;
    }
    out.push_back({static_cast<uint32_t>(pid), info});
  }
  co_return out;
}

std::shared_ptr<void> Task::markInFlight(int InFlight::*counter) {
  ++((*inFlight_).*counter);
  return std::shared_ptr<void>(nullptr, [ops = inFlight_, counter](void*) { --((*ops).*counter); });
}

void Task::checkFreezerFree(const std::string& what, bool execStarts, bool killAlls) const {
  const InFlight& f = *inFlight_;
  const char* busy = f.resumes                    ? "a resume"
                     : f.checkpoints              ? "a checkpoint"
                     : killAlls && f.killAlls     ? "a kill --all"
                     : execStarts && f.execStarts ? "an exec process's start"
                     : init_ && init_->status == Status::Pausing ? "a pause"
                                                                  : nullptr;
  if (busy) {
    throw failedPrecondition("cannot " + what + " task " + config_.id + " while " + busy + " is under way");
  }
}

asio::awaitable<void> Task::thawForSigkill() {
  // A frozen process cannot die (cgroup v1): thaw the task so that it does.
  try {
    co_await runc_.resume(config_.id);
  } catch (const RuntimeRefused&) {
    // "container not paused": runc, or another thaw, did it.
  } catch (const Error& e) {
    BERTH_LOG(warn) << "task " << config_.ns << "/" << config_.id << ": thawing it for its SIGKILL: " << e.what();
  }
}

asio::awaitable<bool> Task::execStartsDone(std::chrono::milliseconds patience) {
  auto ops = inFlight_;  // (the Task may go meanwhile)
  auto until = std::chrono::steady_clock::now() + patience;
  while (ops->execStarts > 0) {
    if (std::chrono::steady_clock::now() >= until) co_return false;
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return true;
}

asio::awaitable<void> Task::pause() {
  Process& p = find("");
  allowed(p, Action::Pause);
  checkFreezerFree("pause", false, true);
  setStatus(p, Action::Pause);  // (Pausing: no new exec start from here on)
  holdInitExit();
  try {
    // An exec's start under way is let finish first: a freeze would catch
    // its runc init half-made, and runc exec would hang.
    if (!co_await execStartsDone(kExecStartPatience)) {
      throw failedPrecondition("cannot pause task " + config_.id + ": an exec process's start is still under way");
    }
    // A SIGKILL sent meanwhile (it does not wait for a pause): a freeze now
    // could land before its processes died, and on v1 they never would.
    const std::string beingKilled = "cannot pause task " + config_.id + ": it is being killed";
    if (sigkilled_ || inFlight_->killAlls > 0) throw failedPrecondition(beingKilled);
    co_await unlessStopped(runc_.pause(config_.id), "pause");
    if (sigkilled_) {
      co_await thawForSigkill();  // (it came during runc pause, whose freeze may have landed after its thaw)
      throw failedPrecondition(beingKilled);
    }
  } catch (...) {
    if (p.status == Status::Pausing) setStatus(p, Action::PauseFailed);
    releaseInitExit();
    throw;
  }
  if (p.status == Status::Pausing) setStatus(p, Action::PauseDone);
  events_.emit([&](auto e) { e.initPaused().setContainerId(config_.id); });
  releaseInitExit();
}

asio::awaitable<void> Task::resume() {
  Process& p = find("");
  allowed(p, Action::Resume);
  checkFreezerFree("resume", false, true);
  auto resuming = markInFlight(&InFlight::resumes);
  // An init killed while frozen dies the moment the thaw lets the SIGKILL
  // land, often before `runc resume` returns: its exit follows /tasks/resumed.
  holdInitExit();
  try {
    co_await unlessStopped(runc_.resume(config_.id), "resume");
  } catch (...) {
    releaseInitExit();
    throw;
  }
  if (p.status == Status::Paused) setStatus(p, Action::Resume);
  events_.emit([&](auto e) { e.initResumed().setContainerId(config_.id); });
  releaseInitExit();
}

asio::awaitable<void> Task::update(std::string resourcesJson) {
  Process& p = find("");
  allowed(p, Action::Update);
  if (p.pid == 0) {
    // Created from a checkpoint: runc has no container until the start.
    throw failedPrecondition("cannot update a task created from a checkpoint before its start");
  }
  bool object = false;
  try {
    object = nlohmann::json::parse(resourcesJson).is_object();
  } catch (const nlohmann::json::exception& e) {
    throw invalidArgument("resources are not JSON: " + std::string(e.what()));
  }
  if (!object) throw invalidArgument("resources must be a JSON object");
  try {
    co_await runc_.update(config_.id, resourcesJson);
  } catch (const RuntimeRefused& e) {
    // A string for a number, a memory limit below the usage: see refusedBecause.
    refusedBecause(e, "update");
  }
}

asio::awaitable<void> Task::checkpoint(std::string imagePath, bool exit) {
  Process& p = find("");
  allowed(p, Action::Checkpoint);
  if (imagePath.empty() || imagePath[0] != '/') {
    throw invalidArgument("checkpoint image path must be absolute: \"" + imagePath + "\"");
  }
  // (before criu is asked: a path that cannot be the image dir is the
  // caller's to fix wherever criu works or not)
  if (struct stat st{}; ::stat(imagePath.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    throw invalidArgument("checkpoint image path " + imagePath + " is not a directory");
  }
  checkFreezerFree("checkpoint", false, true);
  auto checkpointing = markInFlight(&InFlight::checkpoints);  // (no new exec start from here on)
  if (!co_await execStartsDone(kExecStartPatience)) {
    throw failedPrecondition("cannot checkpoint task " + config_.id + ": an exec process's start is still under way");
  }
  std::string problem = co_await runc_.criuProblem();
  if (!problem.empty()) throw failedPrecondition("cannot checkpoint: " + problem);
  makeDirs(imagePath, 0700);
  // The init's exit (criu's kill with --exit, or any death during the dump)
  // goes out after /tasks/checkpointed: no delete can unmount the rootfs
  // under criu. (Bounded by runc's deadline.)
  holdInitExit();
  try {
    co_await unlessStopped(runc_.checkpoint(config_.id, imagePath, config_.stateDir + "/criu-dump", !exit),
                           "checkpoint");
  } catch (...) {
    releaseInitExit();
    throw;
  }
  events_.emit([&](auto e) {
    auto c = e.initCheckpointed();
    c.setContainerId(config_.id);
    c.setCheckpoint(imagePath);
  });
  releaseInitExit();
}

void Task::closeIO(const std::string& execId) {
  Process& p = find(execId);
  // (An exec's IO is opened by its start: a close before that was dropped,
  // and the process never saw the end of its input.)
  if (!execId.empty() && !p.ioAttached) {
    p.closeStdinPending = true;
    return;
  }
  p.io.closeStdin();
}

void Task::resize(const std::string& execId, unsigned width, unsigned height) {
  Process& p = find(execId);
  if (!execId.empty() && !p.ioAttached) {
    p.sizePending = {width, height};  // (its pty comes with its start)
    return;
  }
  p.io.resize(width, height);
}


TaskMetrics Task::stats() const {
  const Process& p = find("");
  if (p.status == Status::Deleted) throw failedPrecondition("cannot read metrics of a deleted task");
  return readMetrics(cgroups_);
}

}  // namespace berth::shim
