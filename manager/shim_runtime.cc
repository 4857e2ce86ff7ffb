#include "manager/shim_runtime.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/ids.h"
#include "common/json_writer.h"
#include "common/kj_loop.h"
#include "common/log.h"
#include "common/spawn_logged.h"
#include "common/timeutil.h"
#include "manager/crash_point.h"
#include "manager/off_loop.h"
#include "manager/shim_pid.h"

#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace berth {

using namespace std::chrono_literals;

namespace {
std::string nameOf(const std::string& ns, const std::string& id) { return ns + "/" + id; }
}  // namespace

ShimRuntime::ShimRuntime(RuntimeConfig config, Reaper& reaper, TaskList& tasks,
                         EventExchange& events, TaskMonitor& monitor)
    : config_(std::move(config)), reaper_(reaper), tasks_(tasks), events_(events), monitor_(monitor),
      trimmer_(KjLoop::current().io()) {}

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
  checkNamespace(ns);
  checkIdentifier("id", id);
  if (opts.bundle.empty() || opts.bundle[0] != '/') {
    throw invalidArgument("bundle \"" + opts.bundle + "\" is not an absolute path");
  }
  checkBundleConfig(opts.bundle);
  // A namespace named after a file of berthd's own (its socket in the state
  // dir, say): refused before anything is made.
  for (const std::string& dir : {config_.root + "/" + ns, config_.state + "/" + ns}) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      throw invalidArgument("namespace \"" + ns + "\" names a file of berthd's: " + dir);
    }
  }
  // The task record (JSON) keeps these paths: they must read back the same.
  for (const std::string* path : {&opts.bundle, &opts.io.stdinPath, &opts.io.stdoutPath, &opts.io.stderrPath}) {
    if (!isUtf8(*path)) throw invalidArgument("path " + *path + " is not valid UTF-8");
  }
  // An id whose half-made predecessor recovery is still rolling back: wait for
  // that (a client retrying a create berthd died in lands here).
  for (int i = 0; cleaning_.contains(nameOf(ns, id)) && i < 2000; ++i) {
    asio::steady_timer timer(co_await asio::this_coro::executor, 20ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (auto held = unreadable_.find(nameOf(ns, id)); held != unreadable_.end()) {
    throw failedPrecondition("task " + held->first + " has a record berthd cannot read (" + held->second +
                             "); its shim and container were left alone: mend " + pathsFor(ns, id).recordFile +
                             " and restart berthd (removed, the task is cleaned up as an orphan: its "
                             "shim and container are killed)");
  }
  tasks_.reserve(ns, id);  // already-exists at once for a concurrent create of the same id

  TaskPaths paths = pathsFor(ns, id);
  TaskRecord record;
  record.bundle = opts.bundle;
  record.runtime = config_.shim.runtimePath;
  record.io = opts.io;
  record.createdAtNs = nowNs();
  record.created = false;  // until Shim.create returns: else recovery rolls it back
  auto task = std::make_shared<ShimTask>(ns, id, record, paths, ShimTask::Phase::Loading);
  watchShimDelete(task);
  bool shimStarted = false;
  std::exception_ptr failure;
  std::unique_ptr<OffLoopJob> saving;
  std::optional<kj::Promise<uint32_t>> started;  // opts.start: the start sent behind the create
  try {
    makeDirs(paths.recordDir, 0700);
    // The first record is written durably (write, fsync, rename, fsync of
    // the dir: ~1.1 ms on this VM's ext4) on the worker thread while the shim
    // starts. A crash in between leaves a record without a shim, or a shim's
    // state dir without a record: recovery rolls back both
    // (rec-crash-points). The shim's create waits for the record.
    std::function<void()> saveRecord = [record, path = paths.recordFile] {
      crashPoint("before-record");  // (a test hook: it only exits)
      record.saveDurably(path);
    };
    // (Named, and no co_await in the full expression: GCC 12 destroys the
    // captures of a temporary in a co_await's full expression twice.)
    auto loop = co_await asio::this_coro::executor;
    saving = std::make_unique<OffLoopJob>(loop, std::move(saveRecord));
    shimStarted = true;  // from here on a shim (and its state dir) may exist
    std::string socket = co_await ShimClient::startShim(reaper_, config_.shim, ns, id, opts.bundle);
    crashPoint("after-shim-start");
    if (socket != paths.socket) {
      BERTH_LOG(warn) << "shim for " << nameOf(ns, id) << " listens on " << socket << ", expected "
                      << paths.socket;
    }
    // hello and subscribe go out now, while the record may still be on its
    // way to the disk (only the shim's create waits for it); the create (and
    // a run's start) right behind them, then the answers in turn: one round
    // trip in all. (The shim dispatches a connection's calls in order, so
    // the subscription is in place before the create runs.)
    auto subscribed = beginConnect(task);
    co_await saving->wait();
    saving.reset();
    crashPoint("after-record");
    const bool startToo = std::exchange(opts.start, false);  // its own request, right behind
    auto created = task->client()->sendCreate(id, opts);
    if (startToo) started.emplace(task->client()->sendStart(""));
    co_await task->client()->answerSubscribe(kj::mv(subscribed), ShimClient::kDefault);
    uint32_t pid = co_await task->client()->answer(kj::mv(created), "create");
    crashPoint("after-runc-create");
    task->noteCreated(pid);
    task->record().created = true;  // the commit: from here on a restart keeps it
    task->record().saveQuickly(paths.recordFile);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    // From here on the shim's events are not published (they would come
    // after the undo's own); those already out get their ending.
    task->setDiscarded();
    task->record().created = false;  // a later save must not commit it after all
    const TaskRecord& r = task->record();
    endStory(ns, id, {r.createdAtNs, r.lastSeq > 0, r.deletePublished, r.exit, task->cachedState().pid});
    started.reset();  // its answer (the create's failure) is not wanted
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      BERTH_LOG(info) << "create " << nameOf(ns, id) << " failed, undoing it: " << e.what();
    }
    if (saving) {
      // The undo removes the record: not while the worker may still write it.
      try {
        co_await saving->wait();
      } catch (const std::exception&) {
      }
    }
    co_await undoCreate(task, shimStarted);
    std::rethrow_exception(failure);
  }
  tasks_.add(task);  // fills the reservation
  monitor_.monitor(task);
  task->setPhase(ShimTask::Phase::Ready);
  if (!task->client()->connected() && onShimDisconnected) onShimDisconnected(task);
  BERTH_LOG(info) << "created task " << nameOf(ns, id) << " pid " << task->cachedState().pid;
  if (started) co_await startOrDelete(task, std::move(*started));
  co_return task;
}

asio::awaitable<void> ShimRuntime::startOrDelete(std::shared_ptr<ShimTask> task, kj::Promise<uint32_t> started) {
  std::exception_ptr failure;
  try {
    uint32_t pid = co_await task->client()->answer(kj::mv(started), "start");
    crashPoint("after-start");
    task->noteStarted(pid);
    co_return;
  } catch (...) {
    failure = std::current_exception();
  }
  // As a client would after a create and a failed start: the task is
  // deleted the usual way (its exit and delete events go out), and the
  // caller gets the start's error.
  try {
    co_await remove(task);
  } catch (const std::exception& e) {
    BERTH_LOG(warn) << "start of " << nameOf(task->ns(), task->id()) << " failed; deleting it: " << e.what();
  }
  std::rethrow_exception(failure);
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
      // (as long as a create may take: the shim's delete waits for one still running)
      co_await client->remove("", ShimClient::kLong);
      deleted = true;
    } catch (const Error& e) {
      // not-found: runc never created it; fine. Anything else (a running
      // init: a start sent behind the create ran before berthd died) is
      // left to `runc delete --force` below, once the shim is gone.
      deleted = e.code() == Code::NotFound;
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
  co_await events_.journaledAll();  // the story's end (endStory) before its record goes
  removeDirs(paths, ns);
  tasks_.release(ns, id);
}

void ShimRuntime::endStory(const std::string& ns, const std::string& id, const StoryEnd& story,
                           const std::shared_ptr<ShimTask>& task) {
  if (!story.eventsOut || story.deleteOut) return;
  auto publish = [&](TaskEvent ev) {
    ev.incarnation = story.incarnation;  // (publishLocal puts the task's in its place)
    events_.publishLocal(std::move(ev), task);
  };
  Exit exit;
  if (story.exitOut) {
    exit = *story.exitOut;
  } else {
    exit = story.exitSeen.value_or(Exit{0, ExitStatus::signaled(9), nowNs()});
    if (exit.pid == 0) exit.pid = story.pid;
    publish(makeExitEvent(ns, id, exit));
  }
  publish(makeDeleteEvent(ns, id, exit));
}

asio::awaitable<void> ShimRuntime::endTaskStory(std::shared_ptr<ShimTask> task, Exit exit) {
  const TaskRecord& r = task->record();
  endStory(task->ns(), task->id(),
           {0, true, r.deletePublished, r.exit, exit.pid ? exit.pid : task->cachedState().pid,
            exit.exitedAtNs ? std::optional<Exit>(exit) : std::nullopt},
           task);
  co_await events_.journaledAll();  // its exit and delete before its record goes
}

void ShimRuntime::removeDirs(const TaskPaths& paths, const std::string& ns) {
  bool first = true;
  for (const std::string& dir : {paths.stateDir, paths.recordDir}) {
    if (!first) crashPoint("before-record-remove");
    first = false;
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

kj::Promise<uint64_t> ShimRuntime::beginConnect(const std::shared_ptr<ShimTask>& task) {
  auto client = ShimClient::connect(task->paths().socket, "shim for " + nameOf(task->ns(), task->id()));
  task->setClient(client);
  std::weak_ptr<ShimTask> weak = task;
  client->onDisconnect([this, weak]() {
    auto t = weak.lock();
    if (!t || t->deleting() || t->discarded() || t->phase() != ShimTask::Phase::Ready) return;
    if (onShimDisconnected) onShimDisconnected(t);
  });
  return client->sendHelloAndSubscribe(events_.sinkFor(std::weak_ptr<EventOrigin>(task)), task->lastHandledSeq());
}

asio::awaitable<void> ShimRuntime::connectShim(std::shared_ptr<ShimTask> task,
                                               std::chrono::milliseconds deadline) {
  auto subscribed = beginConnect(task);
  co_await task->client()->answerSubscribe(kj::mv(subscribed), deadline);
}

std::shared_ptr<ShimTask> ShimRuntime::adopt(const std::string& ns, const std::string& id,
                                             TaskRecord record) {
  auto task = std::make_shared<ShimTask>(ns, id, std::move(record), pathsFor(ns, id),
                                         ShimTask::Phase::Loading);
  watchShimDelete(task);
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
  // Published once per task: not if its exit was already (record.exit is set
  // with every published init exit, and survives restarts).
  if (!task->record().exit) {
    if (exit.pid == 0) exit.pid = initPid;
    events_.publishLocal(makeExitEvent(ns, id, exit), task);
    crashPoint("after-lost-exit");
  }
  // The record saved below says the exit went out: not before it did (a
  // journal that refuses it keeps the task reaping until it takes it).
  co_await events_.journaledAll();
  task->noteLost(exit);
  // Durably, as a create's first record, and off the loop for the same
  // reason: a disk that stalls must not stall every other task's calls. The
  // task is not Lost (deletable) before its record is written.
  auto loop = co_await asio::this_coro::executor;
  OffLoopJob saving(loop, [record = task->record(), path = task->paths().recordFile] {
    record.saveDurably(path);
  });
  try {
    co_await saving.wait();
  } catch (const std::exception& e) {
    BERTH_LOG(warn) << "task " << nameOf(ns, id) << ": cannot save its record: " << e.what();
  }
  task->markLost();
  task->setReaping(false);
  BERTH_LOG(info) << "task " << nameOf(ns, id) << " is stopped (" << task->cachedState().exit.status.contractCode()
                  << "); kept until deleted";
}

void ShimRuntime::markDeleting(const std::shared_ptr<ShimTask>& task, bool deleting) {
  task->setDeleting(deleting);
  try {
    task->record().saveQuickly(task->paths().recordFile);
  } catch (const Error& e) {
    BERTH_LOG(warn) << "task " << nameOf(task->ns(), task->id()) << ": cannot save its record: " << e.what();
  }
}

// ------------------------------------------------------------------ crash recovery

asio::awaitable<void> ShimRuntime::rollBackCreate(std::string ns, std::string id, TaskRecord record) {
  const std::string name = nameOf(ns, id);
  try {
    tasks_.reserve(ns, id);
  } catch (const Error&) {
    co_return;  // cannot happen at start-up: ids are unique on disk
  }
  cleaning_.insert(name);
  BERTH_LOG(warn) << "task " << name << ": berthd died while creating it; rolling it back";
  // What went out is in the journal too: the record may lag it (a run's
  // /tasks/start can go out before the create is committed).
  auto journaled = events_.journaled(ns, id, record.createdAtNs);
  endStory(ns, id, {record.createdAtNs, journaled.any || record.lastSeq > 0,
                    record.deletePublished || journaled.initDeleted,
                    record.exit ? record.exit : journaled.initExit,
                    record.lastPid ? record.lastPid : journaled.initPid});
  auto task = std::make_shared<ShimTask>(ns, id, std::move(record), pathsFor(ns, id),
                                         ShimTask::Phase::Loading);
  if (auto shim = readShimPid(task->paths().stateDir); shim && shimAlive(*shim)) {
    try {
      auto client = ShimClient::connect(task->paths().socket, "shim for " + name);
      task->setClient(client);
      co_await client->hello(2s);
    } catch (const std::exception& e) {
      BERTH_LOG(warn) << "task " << name << ": its shim does not answer (" << e.what() << "); killing it";
      if (auto c = task->client()) c->disarm();
      task->setClient(nullptr);
    }
  }
  try {
    co_await undoCreate(task, true);  // removes record and state dir, releases the id
  } catch (const std::exception& e) {
    BERTH_LOG(error) << "rolling back " << name << ": " << e.what();
    tasks_.release(ns, id);
  }
  cleaning_.erase(name);
  BERTH_LOG(info) << "rolled back the create of " << name;
}

asio::awaitable<void> ShimRuntime::finishDelete(std::shared_ptr<ShimTask> task) {
  const std::string ns = task->ns(), id = task->id(), name = nameOf(ns, id);
  const TaskPaths& paths = task->paths();
  BERTH_LOG(warn) << "task " << name << ": berthd died while deleting it; finishing the delete";
  // The record says deleting: no reconnect on a disconnect; a user's delete
  // meanwhile waits for this one (awaitDeleteDone).
  Exit exit = task->cachedState().exit;
  bool clean = false;  // the shim deleted the container and exited by itself
  auto shim = readShimPid(paths.stateDir);
  if (shim && shimAlive(*shim)) {
    try {
      co_await connectShim(task, 2s);  // subscribed: its pending events (exit, delete) come in
      auto client = task->client();
      bool refused = false;
      try {
        exit = co_await client->remove("", 10s);
      } catch (const Error& e) {
        if (e.code() != Code::FailedPrecondition && e.code() != Code::NotFound) throw;
        refused = true;  // already deleted, or never stopped
      }
      if (refused) {
        State s = co_await client->state("", 2s);
        if (s.status != Status::Stopped && s.status != Status::Deleted && s.status != Status::Unknown) {
          // It never got as far as Shim.delete, and the init still runs: no delete to finish.
          BERTH_LOG(info) << "task " << name << " still runs; its interrupted delete is dropped";
          markDeleting(task, false);
          task->noteState(s);
          task->setPhase(ShimTask::Phase::Ready);
          if (!client->connected() && onShimDisconnected) onShimDisconnected(task);
          co_return;
        }
        if (s.status == Status::Stopped || s.status == Status::Deleted) exit = s.exit;
      }
      ShimHello hello = co_await client->hello(2s);
      co_await task->awaitHandled(hello.lastSeq, 2s);
      client->disarm();
      try {
        co_await client->shutdown(false, 2s);
        clean = true;
      } catch (const Error& e) {
        BERTH_LOG(warn) << "finishing the delete of " << name << ": shim shutdown: " << e.what();
      }
    } catch (const std::exception& e) {
      BERTH_LOG(warn) << "finishing the delete of " << name << ": " << e.what();
      if (auto c = task->client()) c->disarm();
    }
    task->setClient(nullptr);
    if (!co_await waitShimGone(*shim, 2s)) {
      co_await killShim(*shim, 5s);
      clean = false;
    }
  }
  if (!clean && pathExists(paths.stateDir)) {
    Exit e = co_await ShimClient::cleanupShim(reaper_, config_.shim, ns, id, task->record().bundle);
    if (!task->record().exit && e.pid != 0) exit = e;
  }
  // Its exit before its delete, even when the shim that would have sent it
  // (a created init killed by the delete) is gone.
  co_await endTaskStory(task, exit);
  task->markDeleted();
  removeDirs(paths, ns);
  tasks_.remove(ns, id);
  monitor_.stop(task);
  task->setPhase(ShimTask::Phase::Lost);  // wakes calls that waited for it to settle
  BERTH_LOG(info) << "finished deleting task " << name;
}

asio::awaitable<void> ShimRuntime::cleanOrphan(std::string ns, std::string id) {
  const std::string name = nameOf(ns, id);
  try {
    tasks_.reserve(ns, id);
  } catch (const Error&) {
    co_return;  // it has a task after all
  }
  cleaning_.insert(name);
  TaskPaths paths = pathsFor(ns, id);
  BERTH_LOG(warn) << "no task record for " << name << ": cleaning up what is left of it";
  if (auto shim = readShimPid(paths.stateDir); shim && shimAlive(*shim)) {
    BERTH_LOG(warn) << "killing shim " << shim->pid << " of " << name << ", which has no task record";
    co_await killShim(*shim, 5s);
  }
  bool container = pathExists(config_.state + "/runc/" + ns + "/" + id);
  if (container || pathExists(paths.stateDir)) {
    // The bundle only has to be an absolute path: `delete` does not read it.
    co_await ShimClient::cleanupShim(reaper_, config_.shim, ns, id, paths.stateDir);
  }
  removeDirs(paths, ns);
  tasks_.release(ns, id);
  cleaning_.erase(name);
}

void ShimRuntime::holdUnreadable(const std::string& ns, const std::string& id, std::string why) {
  tasks_.reserve(ns, id);  // for good: get and list do not show a reservation
  unreadable_.emplace(nameOf(ns, id), std::move(why));
}

// ------------------------------------------------------------------ lookups

asio::awaitable<std::shared_ptr<Task>> ShimRuntime::get(std::string ns, std::string id) {
  checkNamespace(ns);
  checkIdentifier("id", id);
  co_return tasks_.get(ns, id);
}

asio::awaitable<std::vector<std::shared_ptr<Task>>> ShimRuntime::tasks(std::string ns) {
  checkNamespace(ns);
  co_return tasks_.getAll(ns);
}

// ------------------------------------------------------------------ delete

asio::awaitable<Exit> ShimRuntime::remove(std::shared_ptr<Task> base) {
  auto task = std::dynamic_pointer_cast<ShimTask>(base);
  if (!task) throw internal("not a task of runtime " + id_);
  const std::string ns = task->ns(), id = task->id();
  // A delete racing another delete of the same task waits for that one:
  // if it deleted the task, this one finds it gone (not-found, as a create
  // racing a create finds it there); if it gave up (the task still runs),
  // this one goes on and gets its own answer.
  co_await task->awaitSettled(40s);
  co_await task->awaitDeleteDone(40s);
  // A delete that gave up on a stalled shim, which deleted the task after
  // all: this one ends it.
  if (co_await completeShimDelete(task)) co_return task->cachedState().exit;
  if (task->cachedState().status == Status::Deleted) throw taskNotExists(ns, id);
  if (task->deleting()) throw unavailable("task " + nameOf(ns, id) + " is still being deleted");
  Exit exit;
  bool lost = task->phase() == ShimTask::Phase::Lost;
  if (lost) {
    markDeleting(task, true);
    exit = task->cachedState().exit;
  } else {
    auto client = co_await task->shimFor("delete");
    markDeleting(task, true);
    crashPoint("before-shim-delete");
    uint64_t lastSeq = 0;
    std::exception_ptr failure;
    try {
      exit = co_await client->remove("", ShimClient::kLong, &lastSeq);
    } catch (...) {
      failure = std::current_exception();
      markDeleting(task, false);  // e.g. failed-precondition: it still runs
      // A shim that died during the call: its disconnect came while the task
      // was deleting, which ignores it. Now it is the usual lost shim (its
      // exit published, the task stopped and deletable), not a task whose
      // calls all fail until berthd restarts.
      if (!client->connected() && onShimDisconnected) onShimDisconnected(task);
    }
    if (failure) {
      // Refused because an earlier delete, which gave up on a stalled shim,
      // has deleted the task meanwhile: this one ends it.
      if (co_await completeShimDelete(task)) co_return task->cachedState().exit;
      std::rethrow_exception(failure);
    }
    crashPoint("after-shim-delete");
    // Let the shim's last events (exit, delete) through before the task goes.
    bool handled = false;
    try {
      if (lastSeq == 0) lastSeq = (co_await client->hello(2s)).lastSeq;  // an older shim
      handled = co_await task->awaitHandled(lastSeq, 2s);
      if (!handled) {
        BERTH_LOG(warn) << "task " << nameOf(ns, id) << ": events up to " << lastSeq
                        << " not all handled before delete; berthd publishes the task's end itself";
      }
    } catch (const Error& e) {
      BERTH_LOG(debug) << "delete " << nameOf(ns, id) << ": " << e.what();
    }
    co_await retireShim(task, client);
    if (!handled) {
      // What the shim still held (a journal that refused its exit, say) went
      // with it: its exit and delete, as a lost shim's, before the record goes.
      co_await endTaskStory(task, exit);
    }
  }
  // The lost task's delete event goes out before its record does: a crash in
  // between finishes the delete at start-up without publishing it again.
  if (lost && !task->record().deletePublished) {
    events_.publishLocal(makeDeleteEvent(ns, id, exit), task);
    co_await events_.journaledAll();  // a disk that refuses it: the record stays until it takes it
  }
  forget(task);
  co_return exit;
}

asio::awaitable<void> ShimRuntime::retireShim(std::shared_ptr<ShimTask> task, std::shared_ptr<ShimClient> client) {
  client->disarm();
  try {
    co_await client->shutdown(false);
  } catch (const Error& e) {
    BERTH_LOG(warn) << "delete " << nameOf(task->ns(), task->id()) << ": shim shutdown: " << e.what();
  }
  if (auto shim = readShimPid(task->paths().stateDir)) {
    if (!co_await waitShimGone(*shim, 2s)) co_await killShim(*shim, 2s);
  }
  crashPoint("after-shim-shutdown");
}

void ShimRuntime::forget(const std::shared_ptr<ShimTask>& task) {
  task->markDeleted();
  removeDirs(task->paths(), task->ns());
  tasks_.remove(task->ns(), task->id());
  monitor_.stop(task);
  BERTH_LOG(info) << "deleted task " << nameOf(task->ns(), task->id());
  trimmer_.soon();
}

bool ShimRuntime::deletedByShim(const std::shared_ptr<ShimTask>& task) const {
  // (deletePublished: the init's /tasks/delete was handled, or the journal
  // had it at start-up; a delete of berthd's own marks the task deleting first)
  return task->record().deletePublished && !task->deleting() && !task->discarded() &&
         task->phase() == ShimTask::Phase::Ready && task->client();
}

void ShimRuntime::watchShimDelete(const std::shared_ptr<ShimTask>& task) {
  task->onDeletedByShim = [this](std::shared_ptr<ShimTask> t) { finishShimDeleteSoon(std::move(t)); };
}

void ShimRuntime::finishShimDeleteSoon(std::shared_ptr<ShimTask> task) {
  std::string what = "finishing the delete of " + nameOf(task->ns(), task->id()) + " the shim did";
  spawnLogged(KjLoop::current().io(), completeShimDelete(std::move(task)), std::move(what));
}

asio::awaitable<bool> ShimRuntime::completeShimDelete(std::shared_ptr<ShimTask> task) {
  co_await task->awaitSettled(40s);  // (an event replayed while it reconnects)
  if (!deletedByShim(task)) co_return false;
  BERTH_LOG(warn) << "the shim of " << nameOf(task->ns(), task->id())
                  << " deleted its task with no delete of berthd's under way; finishing the delete";
  markDeleting(task, true);  // (from here on, checked and marked in one turn: done once)
  co_await retireShim(task, task->client());
  forget(task);
  co_return true;
}

}  // namespace berth
