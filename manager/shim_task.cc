#include "manager/shim_task.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "manager/crash_point.h"

namespace berth {

namespace {

using namespace std::chrono_literals;

// How long a call waits for a loading or reconnecting task to settle: the
// recovery deadline plus a `berth-shim delete` of a lost one.
constexpr std::chrono::milliseconds kSettle = 40s;

// An exec process of a task, by its exec id.
class ShimExecProcess final : public Process {
 public:
  ShimExecProcess(std::shared_ptr<ShimTask> task, std::string execId)
      : task_(std::move(task)), execId_(std::move(execId)) {}

  const std::string& id() const override { return execId_; }
  asio::awaitable<State> state() override {
    auto shim = co_await task_->shimFor("state");
    co_return co_await shim->state(execId_);
  }
  asio::awaitable<void> kill(uint32_t signal, bool all) override {
    auto shim = co_await task_->shimFor("kill");
    co_await shim->kill(execId_, signal, all);
  }
  asio::awaitable<void> resizePty(ConsoleSize size) override {
    auto shim = co_await task_->shimFor("resize");
    co_await shim->resizePty(execId_, size);
  }
  asio::awaitable<void> closeIO() override {
    auto shim = co_await task_->shimFor("close-io");
    co_await shim->closeIO(execId_);
  }
  asio::awaitable<uint32_t> start() override {
    auto shim = co_await task_->shimFor("start");
    co_return co_await shim->start(execId_);
  }
  asio::awaitable<Exit> wait(std::shared_ptr<CallCancel> cancel) override {
    auto shim = co_await task_->shimFor("wait");
    co_return co_await shim->wait(execId_, std::move(cancel));
  }

 private:
  std::shared_ptr<ShimTask> task_;
  std::string execId_;
};

}  // namespace

ShimTask::ShimTask(std::string ns, std::string id, TaskRecord record, TaskPaths paths, Phase phase)
    : ns_(std::move(ns)), id_(std::move(id)), record_(std::move(record)), paths_(std::move(paths)),
      phase_(phase) {
  cached_.id = id_;
  cached_.io = record_.io;
  cached_.status = Status::Unknown;
  if (record_.lastStatus != Status::Unknown && record_.lastStatus != Status::Deleted) {
    // As berthd last knew it, until the shim tells (see recovery.h).
    cached_.status = record_.lastStatus;
    cached_.pid = record_.lastPid;
  }
  if (record_.exit) {
    // Its exit was handled before berthd restarted: final, whatever the shim says.
    cached_.status = Status::Stopped;
    cached_.pid = record_.exit->pid;
    cached_.exit = *record_.exit;
  }
  if (record_.lostExit) {
    phase_ = Phase::Lost;
    cached_.status = Status::Stopped;
    cached_.pid = record_.lostExit->pid;
    cached_.exit = *record_.lostExit;
  }
}

void ShimTask::setPhase(Phase phase) {
  phase_ = phase;
  wakeWaiters();
}

TaskInfo ShimTask::info() const {
  TaskInfo info;
  info.id = id_;
  info.ns = ns_;
  info.runtime = record_.runtime;
  info.bundle = record_.bundle;
  try {
    if (auto spec = readFile(record_.bundle + "/config.json")) info.spec = std::move(*spec);
  } catch (const std::exception&) {
  }
  return info;
}

// ---------------------------------------------------------------- cache

void ShimTask::recordHandledSeq(uint64_t shimSeq) {
  record_.lastSeq = shimSeq;
  wakeWaiters();
}

void ShimTask::saveHandledSeq() {
  try {
    record_.saveQuickly(paths_.recordFile);
  } catch (const Error& e) {
    // The record is gone only when the task is being deleted or undone.
    BERTH_LOG(debug) << "task " << ns_ << "/" << id_ << ": cannot save last seq: " << e.what();
  }
}

void ShimTask::applyEvent(const TaskEvent& ev) {
  if (ev.topic == topics::kCreate) {
    if (cached_.status == Status::Unknown || cached_.status == Status::Created) {
      cached_.status = Status::Created;
      cached_.pid = pidOf(ev);
    }
  } else if (ev.topic == topics::kStart) {
    if (cached_.status != Status::Stopped) {
      cached_.status = Status::Running;
      cached_.pid = pidOf(ev);
    }
  } else if (ev.topic == topics::kExit) {
    if (processIdOf(ev) == id_) {
      cached_.status = Status::Stopped;
      cached_.exit = exitOfEvent(ev);
      if (cached_.exit.pid != 0) cached_.pid = cached_.exit.pid;
      record_.exit = cached_.exit;  // saved with the event's seq (recordHandledSeq)
    }
  } else if (ev.topic == topics::kPaused) {
    if (cached_.status != Status::Stopped) cached_.status = Status::Paused;
  } else if (ev.topic == topics::kResumed) {
    if (cached_.status != Status::Stopped) cached_.status = Status::Running;
  } else if (ev.topic == topics::kDelete) {
    if (processIdOf(ev) == id_) {
      cached_.status = Status::Deleted;
      record_.deletePublished = true;
      // From the shim (shimSeq), with nobody in berthd deleting the task.
      if (ev.shimSeq != 0 && !record_.deleting && !discarded_ && onDeletedByShim) {
        onDeletedByShim(shared_from_this());
      }
    }
  }
  rememberStatus();
  wakeWaiters();
}

void ShimTask::rememberStatus() {
  // A stop counts once its exit is in the record too (a state reply can say
  // stopped first): a restart then answers from the record alone.
  if (cached_.status == Status::Stopped && !record_.exit) return;
  record_.lastStatus = cached_.status;
  record_.lastPid = cached_.pid;
}

void ShimTask::noteCreated(uint32_t pid) {
  if (cached_.status == Status::Unknown) cached_.status = Status::Created;
  if (cached_.pid == 0) cached_.pid = pid;
  rememberStatus();
}

void ShimTask::noteStarted(uint32_t pid) {
  if (cached_.status == Status::Stopped || cached_.status == Status::Deleted) return;
  cached_.status = Status::Running;
  cached_.pid = pid;
  rememberStatus();
}

void ShimTask::noteState(const State& s) {
  // Never step back from an exit the events already told us about.
  if (cached_.status == Status::Stopped && s.status != Status::Stopped) return;
  cached_.status = s.status;
  if (s.pid != 0) cached_.pid = s.pid;
  if (s.status == Status::Stopped) cached_.exit = s.exit;
  cached_.io = s.io;
  rememberStatus();
}

void ShimTask::noteLost(const Exit& exit) {
  if (cached_.status != Status::Stopped) {
    cached_.status = Status::Stopped;
    cached_.exit = exit;
    if (exit.pid != 0) cached_.pid = exit.pid;
  }
  record_.lostExit = cached_.exit;
  record_.exit = cached_.exit;
}

void ShimTask::markLost() {
  client_.reset();
  setPhase(Phase::Lost);
}

void ShimTask::markDeleted() {
  cached_.status = Status::Deleted;
  client_.reset();
  wakeWaiters();
}

// ---------------------------------------------------------------- waiting

void ShimTask::wakeWaiters() {
  for (auto& t : waiters_) t->cancel();
  waiters_.clear();
}

asio::awaitable<void> ShimTask::waitForChange(std::chrono::steady_clock::time_point until) {
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, until);
  waiters_.push_back(timer);
  boost::system::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  std::erase(waiters_, timer);
}

asio::awaitable<void> ShimTask::awaitSettled(std::chrono::milliseconds deadline, bool orStopped) {
  auto until = std::chrono::steady_clock::now() + deadline;
  auto self = shared_from_this();
  while ((phase_ == Phase::Loading || phase_ == Phase::Reconnecting) &&
         !(orStopped && cached_.status == Status::Stopped) && std::chrono::steady_clock::now() < until) {
    co_await waitForChange(until);
  }
}

void ShimTask::setDeleting(bool deleting) {
  record_.deleting = deleting;
  if (!deleting) wakeWaiters();
}

asio::awaitable<void> ShimTask::awaitDeleteDone(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  auto self = shared_from_this();
  while (record_.deleting && cached_.status != Status::Deleted && std::chrono::steady_clock::now() < until) {
    co_await waitForChange(until);
  }
}

asio::awaitable<bool> ShimTask::awaitHandled(uint64_t seq, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  auto self = shared_from_this();
  while (record_.lastSeq < seq && std::chrono::steady_clock::now() < until) {
    co_await waitForChange(until);
  }
  co_return record_.lastSeq >= seq;
}

asio::awaitable<std::shared_ptr<ShimClient>> ShimTask::shimFor(const char* what) {
  auto self = shared_from_this();
  co_await awaitSettled(kSettle);
  std::string name = ns_ + "/" + id_;
  switch (phase_) {
    case Phase::Lost:
      throw failedPrecondition(std::string("cannot ") + what + " task " + name +
                               ": it has stopped and its shim is gone");
    case Phase::Loading:
    case Phase::Reconnecting:
      throw unavailable("shim for " + name + " is still being reconnected");
    case Phase::Ready:
      break;
  }
  if (!client_ || !client_->connected()) throw unavailable("shim for " + name + " is not connected");
  co_return client_;
}

// ---------------------------------------------------------------- the init

asio::awaitable<State> ShimTask::state() {
  auto self = shared_from_this();
  // An exit is final: answer from the cache, even if the shim is slow or gone.
  if (cached_.status == Status::Stopped || phase_ == Phase::Lost) co_return cached_;
  co_await awaitSettled(kSettle, /*orStopped=*/true);
  if (cached_.status == Status::Stopped || phase_ == Phase::Lost) co_return cached_;
  auto shim = co_await shimFor("get the state of");
  State s = co_await shim->state("");
  noteState(s);
  co_return s;
}

asio::awaitable<void> ShimTask::kill(uint32_t signal, bool all) {
  auto self = shared_from_this();
  co_await awaitSettled(kSettle);
  // As a live shim answers for an init that exited (not-found), whatever
  // became of the shim since.
  if (phase_ == Phase::Lost) {
    throw notFound("process " + id_ + " has already exited (task " + ns_ + "/" + id_ + ", its shim gone)");
  }
  auto shim = co_await shimFor("kill");
  co_await shim->kill("", signal, all);
}

asio::awaitable<void> ShimTask::resizePty(ConsoleSize size) {
  auto shim = co_await shimFor("resize");
  co_await shim->resizePty("", size);
}

asio::awaitable<void> ShimTask::closeIO() {
  auto shim = co_await shimFor("close the IO of");
  co_await shim->closeIO("");
}

asio::awaitable<uint32_t> ShimTask::start() {
  auto self = shared_from_this();
  auto shim = co_await shimFor("start");
  uint32_t pid = co_await shim->start("");
  crashPoint("after-start");
  noteStarted(pid);
  co_return pid;
}

asio::awaitable<Exit> ShimTask::wait(std::shared_ptr<CallCancel> cancel) {
  auto self = shared_from_this();
  if (cached_.status == Status::Stopped) co_return cached_.exit;
  co_await awaitSettled(kSettle, /*orStopped=*/true);
  if (cached_.status == Status::Stopped) co_return cached_.exit;
  auto shim = co_await shimFor("wait for");
  try {
    co_return co_await shim->wait("", cancel);
  } catch (const Error& e) {
    if (e.code() != Code::Unavailable || (cancel && cancel->fired())) throw;  // (our caller went)
  }
  // The shim went away while we waited: recovery settles the task (lost and
  // stopped with the exit from its exit file, or reconnected).
  co_await awaitSettled(kSettle, /*orStopped=*/true);
  if (cached_.status == Status::Stopped) co_return cached_.exit;
  auto again = co_await shimFor("wait for");
  co_return co_await again->wait("", cancel);
}

// ---------------------------------------------------------------- the task

asio::awaitable<void> ShimTask::pause() {
  auto self = shared_from_this();
  auto shim = co_await shimFor("pause");
  co_await shim->pause();
  if (cached_.status == Status::Running) cached_.status = Status::Paused;
}

asio::awaitable<void> ShimTask::resume() {
  auto self = shared_from_this();
  auto shim = co_await shimFor("resume");
  co_await shim->resume();
  if (cached_.status == Status::Paused) cached_.status = Status::Running;
}

asio::awaitable<std::shared_ptr<Process>> ShimTask::exec(std::string execId, ExecOpts opts) {
  // Events tell the init's exit by its id being the task's: an exec of the
  // same name would pass for the init and stop the task in berthd's eyes.
  if (execId == id_) throw invalidArgument("exec id \"" + execId + "\" is the task's own id");
  auto self = shared_from_this();
  auto shim = co_await shimFor("exec in");
  co_await shim->exec(execId, std::move(opts));
  crashPoint("after-exec");
  co_return std::make_shared<ShimExecProcess>(self, std::move(execId));
}

asio::awaitable<std::vector<ProcessInfo>> ShimTask::pids() {
  auto shim = co_await shimFor("list the processes of");
  co_return co_await shim->pids();
}

asio::awaitable<void> ShimTask::checkpoint(std::string imagePath, bool exit) {
  auto shim = co_await shimFor("checkpoint");
  co_await shim->checkpoint(std::move(imagePath), exit);
}

asio::awaitable<Exit> ShimTask::deleteProcess(std::string execId) {
  auto shim = co_await shimFor("delete a process of");
  co_return co_await shim->remove(std::move(execId));
}

asio::awaitable<void> ShimTask::update(std::string resources) {
  auto shim = co_await shimFor("update");
  co_await shim->update(std::move(resources));
}

asio::awaitable<std::shared_ptr<Process>> ShimTask::process(std::string execId) {
  // No round trip: the shim answers not-found for an unknown exec id.
  co_return std::make_shared<ShimExecProcess>(shared_from_this(), std::move(execId));
}

asio::awaitable<Metrics> ShimTask::metrics() {
  auto shim = co_await shimFor("read the metrics of");
  co_return co_await shim->stats();
}

}  // namespace berth
