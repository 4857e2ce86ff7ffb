#include "manager/shim_runtime.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "manager/shim_pid.h"

#include <unistd.h>

namespace berth {

using namespace std::chrono_literals;

namespace {
std::string nameOf(const std::string& ns, const std::string& id) { return ns + "/" + id; }
}  // namespace

ShimRuntime::ShimRuntime(RuntimeConfig config, Reaper& reaper, TaskList& tasks,
                         EventExchange& events, TaskMonitor& monitor)
    : config_(std::move(config)), reaper_(reaper), tasks_(tasks), events_(events), monitor_(monitor) {}

TaskPaths ShimRuntime::pathsFor(const std::string& ns, const std::string& id) const {
  TaskPaths p;
  p.recordDir = config_.root + "/" + ns + "/" + id;
  p.recordFile = p.recordDir + "/task";
  p.stateDir = config_.state + "/" + ns + "/" + id;
  p.socket = p.stateDir + "/shim.sock";
  return p;
}

// ------------------------------------------------------------------ create

asio::awaitable<std::shared_ptr<Task>> ShimRuntime::create(std::string ns, std::string id,
                                                           CreateOpts opts) {
  // Nothing is touched until the request is known to be well-formed.
  checkIdentifier("namespace", ns);
  checkIdentifier("id", id);
  if (opts.bundle.empty() || opts.bundle[0] != '/') {
    throw invalidArgument("bundle \"" + opts.bundle + "\" is not an absolute path");
  }
  if (!pathExists(opts.bundle + "/config.json")) {
    throw invalidArgument("bundle " + opts.bundle + " has no config.json");
  }
  tasks_.reserve(ns, id);  // already-exists at once for a concurrent create of the same id

  TaskPaths paths = pathsFor(ns, id);
  TaskRecord record;
  record.bundle = opts.bundle;
  record.runtime = config_.shim.runtimePath;
  record.io = opts.io;
  record.createdAtNs = nowNs();
  auto task = std::make_shared<ShimTask>(ns, id, record, paths, ShimTask::Phase::Loading);
  bool shimStarted = false;
  std::exception_ptr failure;
  try {
    makeDirs(paths.recordDir, 0700);
    record.saveDurably(paths.recordFile);
    shimStarted = true;  // from here on a shim (and its state dir) may exist
    std::string socket = co_await ShimClient::startShim(reaper_, config_.shim, ns, id, opts.bundle);
    if (socket != paths.socket) {
      BERTH_LOG(warn) << "shim for " << nameOf(ns, id) << " listens on " << socket << ", expected "
                      << paths.socket;
    }
    co_await connectShim(task, ShimClient::kDefault);
    uint32_t pid = co_await task->client()->create(id, opts);
    task->noteCreated(pid);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      BERTH_LOG(info) << "create " << nameOf(ns, id) << " failed, undoing it: " << e.what();
    }
    co_await undoCreate(task, shimStarted);
    std::rethrow_exception(failure);
  }
  tasks_.add(task);  // fills the reservation
  monitor_.monitor(task);
  task->setPhase(ShimTask::Phase::Ready);
  if (!task->client()->connected() && onShimDisconnected) onShimDisconnected(task);
  BERTH_LOG(info) << "created task " << nameOf(ns, id) << " pid " << task->cachedState().pid;
  co_return task;
}

asio::awaitable<void> ShimRuntime::undoCreate(std::shared_ptr<ShimTask> task, bool shimStarted) {
  const std::string ns = task->ns(), id = task->id();
  const TaskPaths& paths = task->paths();
  task->setDiscarded();  // its events (if any) are not published
  bool shimCleanedUp = false;
  auto shim = readShimPid(paths.stateDir);
  if (auto client = task->client(); client && client->connected()) {
    client->disarm();
    bool deleted = false;
    try {
      co_await client->remove("", ShimClient::kDefault);
      deleted = true;
    } catch (const Error& e) {
      // not-found / failed-precondition: runc never created it; fine.
      deleted = e.code() == Code::NotFound || e.code() == Code::FailedPrecondition;
      BERTH_LOG(debug) << "undo create " << nameOf(ns, id) << ": shim delete: " << e.what();
    }
    try {
      co_await client->shutdown(true, 2s);
      // The shim deleted its container (or runc never made one) and exited:
      // what is left is its state dir, removed below.
      shimCleanedUp = deleted;
    } catch (const Error& e) {
      BERTH_LOG(debug) << "undo create " << nameOf(ns, id) << ": shim shutdown: " << e.what();
    }
  }
  task->setClient(nullptr);
  if (shimStarted) {
    if (shim) {
      if (!co_await waitShimGone(*shim, 2s)) {
        co_await killShim(*shim, 5s);
        shimCleanedUp = false;
      }
    }
    if (!shimCleanedUp) {
      // runc delete --force, unmount what the shim mounted, remove STATE/NS/ID.
      co_await ShimClient::cleanupShim(reaper_, config_.shim, ns, id, task->record().bundle);
    }
  }
  removeDirs(paths, ns);
  tasks_.release(ns, id);
}

void ShimRuntime::removeDirs(const TaskPaths& paths, const std::string& ns) {
  for (const std::string& dir : {paths.stateDir, paths.recordDir}) {
    try {
      removeTree(dir);
    } catch (const Error& e) {
      BERTH_LOG(warn) << "cannot remove " << dir << ": " << e.what();
    }
  }
  // The namespace dir of the records goes with its last task (only berthd writes there).
  ::rmdir((config_.root + "/" + ns).c_str());
}

// ------------------------------------------------------------------ connect

asio::awaitable<void> ShimRuntime::connectShim(std::shared_ptr<ShimTask> task,
                                               std::chrono::milliseconds deadline) {
  auto client = ShimClient::connect(task->paths().socket, "shim for " + nameOf(task->ns(), task->id()));
  task->setClient(client);
  std::weak_ptr<ShimTask> weak = task;
  client->onDisconnect([this, weak]() {
    auto t = weak.lock();
    if (!t || t->deleting() || t->discarded() || t->phase() != ShimTask::Phase::Ready) return;
    if (onShimDisconnected) onShimDisconnected(t);
  });
  co_await client->hello(deadline);
  co_await client->subscribe(events_.sinkFor(std::weak_ptr<EventOrigin>(task)), task->lastHandledSeq(),
                             deadline);
}

std::shared_ptr<ShimTask> ShimRuntime::adopt(const std::string& ns, const std::string& id,
                                             TaskRecord record) {
  auto task = std::make_shared<ShimTask>(ns, id, std::move(record), pathsFor(ns, id),
                                         ShimTask::Phase::Loading);
  tasks_.addWithNamespace(ns, task);
  monitor_.monitor(task);
  return task;
}

asio::awaitable<void> ShimRuntime::reapLostShim(std::shared_ptr<ShimTask> task, std::string why) {
  if (task->phase() == ShimTask::Phase::Lost || task->reaping() || task->deleting()) co_return;
  task->setReaping(true);
  const std::string ns = task->ns(), id = task->id();
  BERTH_LOG(warn) << "shim for " << nameOf(ns, id) << " is gone or wedged (" << why
                  << "): cleaning up";
  if (auto client = task->client()) client->disarm();
  task->setClient(nullptr);
  if (auto shim = readShimPid(task->paths().stateDir); shim && shimAlive(*shim)) {
    BERTH_LOG(warn) << "killing shim " << shim->pid << " of " << nameOf(ns, id);
    co_await killShim(*shim, 5s);
  }
  // The init's pid, for the exit event, before `berth-shim delete` removes the dir.
  uint32_t initPid = task->cachedState().pid;
  if (initPid == 0) {
    try {
      if (auto text = readFile(task->paths().stateDir + "/init.pid")) initPid = std::stoul(*text);
    } catch (const std::exception&) {
    }
  }
  Exit exit = co_await ShimClient::cleanupShim(reaper_, config_.shim, ns, id, task->record().bundle);
  if (task->cachedState().status != Status::Stopped) {
    if (exit.pid == 0) exit.pid = initPid;
    events_.publishLocal(makeExitEvent(ns, id, exit), task);
  }
  task->markLost(exit);
  task->setReaping(false);
  BERTH_LOG(info) << "task " << nameOf(ns, id) << " is stopped (" << task->cachedState().exit.status.contractCode()
                  << "); kept until deleted";
}

// ------------------------------------------------------------------ lookups

asio::awaitable<std::shared_ptr<Task>> ShimRuntime::get(std::string ns, std::string id) {
  checkIdentifier("namespace", ns);
  checkIdentifier("id", id);
  co_return tasks_.get(ns, id);
}

asio::awaitable<std::vector<std::shared_ptr<Task>>> ShimRuntime::tasks(std::string ns) {
  checkIdentifier("namespace", ns);
  co_return tasks_.getAll(ns);
}

// ------------------------------------------------------------------ delete

asio::awaitable<Exit> ShimRuntime::remove(std::shared_ptr<Task> base) {
  auto task = std::dynamic_pointer_cast<ShimTask>(base);
  if (!task) throw internal("not a task of runtime " + id_);
  const std::string ns = task->ns(), id = task->id();
  if (task->deleting()) throw failedPrecondition("task " + nameOf(ns, id) + " is already being deleted");
  co_await task->awaitSettled(40s);
  if (task->deleting()) throw failedPrecondition("task " + nameOf(ns, id) + " is already being deleted");
  Exit exit;
  bool lost = task->phase() == ShimTask::Phase::Lost;
  if (lost) {
    task->setDeleting(true);
    exit = task->cachedState().exit;
  } else {
    auto client = co_await task->shimFor("delete");
    task->setDeleting(true);
    try {
      exit = co_await client->remove("");
    } catch (...) {
      task->setDeleting(false);  // e.g. failed-precondition: it still runs
      throw;
    }
    // Let the shim's last events (exit, delete) through before the task goes.
    try {
      ShimHello hello = co_await client->hello(2s);
      if (!co_await task->awaitHandled(hello.lastSeq, 2s)) {
        BERTH_LOG(warn) << "task " << nameOf(ns, id) << ": events up to " << hello.lastSeq
                        << " not all handled before delete";
      }
    } catch (const Error& e) {
      BERTH_LOG(debug) << "delete " << nameOf(ns, id) << ": " << e.what();
    }
    client->disarm();
    try {
      co_await client->shutdown(false);
    } catch (const Error& e) {
      BERTH_LOG(warn) << "delete " << nameOf(ns, id) << ": shim shutdown: " << e.what();
    }
    if (auto shim = readShimPid(task->paths().stateDir)) {
      if (!co_await waitShimGone(*shim, 2s)) co_await killShim(*shim, 2s);
    }
  }
  task->markDeleted();
  removeDirs(task->paths(), ns);
  tasks_.remove(ns, id);
  monitor_.stop(task);
  if (lost) events_.publishLocal(makeDeleteEvent(ns, id, exit), task);
  BERTH_LOG(info) << "deleted task " << nameOf(ns, id);
  co_return exit;
}

}  // namespace berth
