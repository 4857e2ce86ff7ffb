#include "manager/recovery.h"

#include "common/errors.h"
#include "common/ids.h"
#include "common/kj_loop.h"
#include "common/log.h"
#include "common/spawn_logged.h"
#include "manager/shim_pid.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>
#include <vector>

namespace berth {

namespace fs = std::filesystem;

Recovery::Recovery(ShimRuntime& runtime) : runtime_(runtime) {
  runtime_.onShimDisconnected = [this](std::shared_ptr<ShimTask> task) {
    shimDisconnected(std::move(task));
  };
}

namespace {
// Valid identifiers among the subdirectories of DIR.
std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::error_code ec2;
    std::string name = entry.path().filename();
    if (entry.is_directory(ec2) && isValidIdentifier(name)) out.push_back(std::move(name));
  }
  // (a missing dir is an empty one; anything else means tasks we cannot see)
  if (ec && ec != std::errc::no_such_file_or_directory) {
    BERTH_LOG(error) << "cannot list " << dir << ": " << ec.message() << "; its tasks are not recovered";
  }
  return out;
}
}  // namespace

void Recovery::start() {
  const std::string& root = runtime_.config().root;
  const std::string& state = runtime_.config().state;
  // Every NS/ID that has anything on disk: a record dir, a state dir (the
  // shim's), a runc container. "runc" under STATE is runc's own root.
  std::set<std::pair<std::string, std::string>> ids;
  for (const auto& ns : subdirs(root))
    for (const auto& id : subdirs(root + "/" + ns)) ids.emplace(ns, id);
  for (const auto& ns : subdirs(state)) {
    if (ns == "runc") continue;
    for (const auto& id : subdirs(state + "/" + ns)) ids.emplace(ns, id);
  }
  for (const auto& ns : subdirs(state + "/runc"))
    for (const auto& id : subdirs(state + "/runc/" + ns)) ids.emplace(ns, id);

  std::vector<std::shared_ptr<ShimTask>> found;
  std::vector<asio::awaitable<void>> jobs;
  for (const auto& [ns, id] : ids) {
    std::string recordFile = root + "/" + ns + "/" + id + "/task";
    std::optional<TaskRecord> record;
    try {
      record = TaskRecord::load(recordFile);
    } catch (const std::exception& e) {
      // Not an orphan: its record is there, only unreadable (torn, mangled,
      // written by another version). Cleaning it up would kill a container
      // that may be running and erase the only trace of it.
      BERTH_LOG(error) << "task " << ns << "/" << id << ": cannot read its record (" << e.what()
                       << "): leaving its shim, container and files alone; its id stays taken until "
                       << recordFile << " is mended or removed and berthd restarts";
      runtime_.holdUnreadable(ns, id, e.what());
      continue;
    }
    if (!record) {
      jobs.push_back(runtime_.cleanOrphan(ns, id));
      continue;
    }
    // The record is saved just after the journal line: catch up on a crash in between.
    auto j = runtime_.events().journaled(ns, id, record->createdAtNs);
    bool behind = j.lastShimSeq > record->lastSeq || (!record->exit && j.initExit) ||
                  (j.initDeleted && !record->deletePublished);
    if (behind) {
      BERTH_LOG(info) << "task " << ns << "/" << id << ": record caught up from the journal (last seq "
                      << record->lastSeq << " -> " << std::max(record->lastSeq, j.lastShimSeq) << ")";
      record->lastSeq = std::max(record->lastSeq, j.lastShimSeq);
      if (!record->exit && j.initExit) record->exit = j.initExit;
      if (j.initDeleted) record->deletePublished = true;
      try {
        record->saveQuickly(recordFile);
      } catch (const std::exception& e) {
        BERTH_LOG(warn) << "cannot save " << recordFile << ": " << e.what();
      }
    }
    if (!record->created) {
      jobs.push_back(runtime_.rollBackCreate(ns, id, std::move(*record)));
      continue;
    }
    try {
      auto task = runtime_.adopt(ns, id, std::move(*record));
      if (task->record().deleting) {
        jobs.push_back(runtime_.finishDelete(task));
      } else {
        found.push_back(task);
      }
    } catch (const std::exception& e) {
      BERTH_LOG(error) << "cannot adopt task " << ns << "/" << id << ": " << e.what();
    }
  }
  BERTH_LOG(info) << "recovering " << found.size() << " task(s), " << jobs.size()
                  << " half-made or orphaned";
  auto& io = KjLoop::current().io();
  auto spawn = [this, &io](asio::awaitable<void> job, std::string what) {
    ++pending_;
    spawnLogged(io, std::move(job), std::move(what), [this] { --pending_; });
  };
  for (auto& job : jobs) spawn(std::move(job), "cleaning up after a crash");
  for (auto& task : found) spawn(recover(task), "recovering " + task->ns() + "/" + task->id());
}

asio::awaitable<void> Recovery::recover(std::shared_ptr<ShimTask> task) {
  if (task->phase() == ShimTask::Phase::Lost) {
    BERTH_LOG(info) << "task " << task->ns() << "/" << task->id()
                    << " stopped while its shim was gone; waiting for its delete";
    co_return;
  }
  co_await reconnect(task);
}

// Connects (or finds the shim gone and cleans up); settles the task either way.
asio::awaitable<void> Recovery::reconnect(std::shared_ptr<ShimTask> task) {
  std::string name = task->ns() + "/" + task->id();
  std::string why;
  auto shim = readShimPid(task->paths().stateDir);
  if (shim && !shimAlive(*shim)) {
    why = "shim process " + std::to_string(shim->pid) + " is gone";
  } else {
    try {
      co_await runtime_.connectShim(task, kConnectDeadline);
      State s = co_await task->client()->state("", kConnectDeadline);
      task->noteState(s);
      task->setPhase(ShimTask::Phase::Ready);
      BERTH_LOG(info) << "reconnected to the shim of " << name << " ("
                      << statusName(task->cachedState().status) << ")";
      if (!task->client()->connected()) {
        shimDisconnected(task);
      } else if (runtime_.deletedByShim(task)) {
        // The shim deleted it after a delete of berthd's gave up on it, and
        // berthd handled its /tasks/delete before it restarted. (One still
        // queued in the shim is replayed now, and ends the task the same way.)
        runtime_.finishShimDeleteSoon(task);
      }
      co_return;
    } catch (const std::exception& e) {
      why = e.what();
    }
  }
  co_await runtime_.reapLostShim(task, why);
}

void Recovery::shimDisconnected(std::shared_ptr<ShimTask> task) {
  if (task->phase() != ShimTask::Phase::Ready) return;
  BERTH_LOG(warn) << "lost the connection to the shim of " << task->ns() << "/" << task->id();
  task->setPhase(ShimTask::Phase::Reconnecting);
  spawnLogged(KjLoop::current().io(), recheck(task), "checking the shim of " + task->ns() + "/" + task->id());
}

asio::awaitable<void> Recovery::recheck(std::shared_ptr<ShimTask> task) {
  // A shim exits only after its task is deleted; a dropped connection while
  // the task exists means it died (or was killed). Give a dying process a
  // moment to be reaped so its pid check is reliable.
  if (auto shim = readShimPid(task->paths().stateDir)) co_await waitShimGone(*shim, std::chrono::milliseconds(200));
  co_await reconnect(task);
}

}  // namespace berth
