#include "manager/recovery.h"

#include "common/errors.h"
#include "common/ids.h"
#include "common/kj_loop.h"
#include "common/log.h"
#include "manager/shim_pid.h"

#include <filesystem>

namespace berth {

namespace fs = std::filesystem;

Recovery::Recovery(ShimRuntime& runtime) : runtime_(runtime) {
  runtime_.onShimDisconnected = [this](std::shared_ptr<ShimTask> task) {
    shimDisconnected(std::move(task));
  };
}

void Recovery::start() {
  const std::string& root = runtime_.config().root;
  std::error_code ec;
  std::vector<std::shared_ptr<ShimTask>> found;
  for (const auto& nsEntry : fs::directory_iterator(root, ec)) {
    std::string ns = nsEntry.path().filename();
    if (!nsEntry.is_directory() || !isValidIdentifier(ns)) continue;
    std::error_code ec2;
    for (const auto& idEntry : fs::directory_iterator(nsEntry.path(), ec2)) {
      std::string id = idEntry.path().filename();
      if (!idEntry.is_directory() || !isValidIdentifier(id)) continue;
      std::string recordFile = idEntry.path().string() + "/task";
      try {
        auto record = TaskRecord::load(recordFile);
        if (!record) {
          BERTH_LOG(warn) << "no task record in " << idEntry.path().string() << "; skipped";
          continue;
        }
        found.push_back(runtime_.adopt(ns, id, std::move(*record)));
      } catch (const std::exception& e) {
        BERTH_LOG(error) << "cannot load task " << ns << "/" << id << ": " << e.what();
      }
    }
  }
  if (ec) {
    BERTH_LOG(warn) << "cannot read " << root << ": " << ec.message();
  }
  BERTH_LOG(info) << "recovering " << found.size() << " task(s)";
  auto& io = KjLoop::current().io();
  for (auto& task : found) {
    ++pending_;
    asio::co_spawn(io, recover(task), [this, task](std::exception_ptr e) {
      --pending_;
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        BERTH_LOG(error) << "recovering " << task->ns() << "/" << task->id() << ": " << ex.what();
      }
    });
  }
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
      if (!task->client()->connected()) shimDisconnected(task);
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
  asio::co_spawn(KjLoop::current().io(), recheck(task), [task](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      BERTH_LOG(error) << "checking the shim of " << task->ns() << "/" << task->id() << ": " << ex.what();
    }
  });
}

asio::awaitable<void> Recovery::recheck(std::shared_ptr<ShimTask> task) {
  // A shim exits only after its task is deleted; a dropped connection while
  // the task exists means it died (or was killed). Give a dying process a
  // moment to be reaped so its pid check is reliable.
  if (auto shim = readShimPid(task->paths().stateDir)) co_await waitShimGone(*shim, std::chrono::milliseconds(200));
  co_await reconnect(task);
}

}  // namespace berth
