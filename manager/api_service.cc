#include "manager/api_service.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/ids.h"
#include "common/kj_await.h"
#include "manager/wire_convert.h"

#include <unistd.h>

namespace berth {

namespace {

struct Ref {
  std::string ns;
  std::string id;
};

Ref refOf(wire::TaskRef::Reader r) {
  Ref ref{textOf(r.getNamespace()), textOf(r.getId())};
  if (ref.ns.empty()) ref.ns = "default";
  return ref;
}

// The init (empty exec id) or an exec process of a task.
asio::awaitable<std::shared_ptr<Process>> processOf(Runtime& rt, Ref ref, std::string execId) {
  std::shared_ptr<Task> task = co_await rt.get(ref.ns, ref.id);
  if (execId.empty()) co_return task;
  checkIdentifier("exec id", execId);
  co_return co_await task->process(std::move(execId));
}

}  // namespace

ApiService::ApiService(Runtime& runtime, EventExchange& events, std::string version)
    : runtime_(runtime), events_(events), version_(std::move(version)) {}

ApiService::~ApiService() {
  for (uint64_t id : subscriptions_) events_.unsubscribe(id);
}

kj::Promise<void> ApiService::create(CreateContext ctx) {
  auto p = ctx.getParams();
  Ref ref = refOf(p.getTask());
  CreateOpts opts = fromWire(p.getOpts());
  bool start = opts.start;
  auto run = [](Runtime& rt, Ref ref, CreateOpts opts) -> asio::awaitable<uint32_t> {
    auto task = co_await rt.create(ref.ns, ref.id, std::move(opts));
    co_return task->cachedState().pid;
  };
  return spawnKj(run(runtime_, std::move(ref), std::move(opts))).then([ctx, start](uint32_t pid) mutable {
    ctx.getResults().setPid(pid);
    ctx.getResults().setStarted(start);
  });
}

kj::Promise<void> ApiService::start(StartContext ctx) {
  auto p = ctx.getParams();
  auto run = [](Runtime& rt, Ref ref, std::string execId) -> asio::awaitable<uint32_t> {
    auto proc = co_await processOf(rt, std::move(ref), std::move(execId));
    co_return co_await proc->start();
  };
  return spawnKj(run(runtime_, refOf(p.getTask()), textOf(p.getExecId())))
      .then([ctx](uint32_t pid) mutable { ctx.getResults().setPid(pid); });
}

kj::Promise<void> ApiService::state(StateContext ctx) {
  auto p = ctx.getParams();
  auto run = [](Runtime& rt, Ref ref, std::string execId) -> asio::awaitable<State> {
    auto proc = co_await processOf(rt, std::move(ref), std::move(execId));
    co_return co_await proc->state();
  };
  return spawnKj(run(runtime_, refOf(p.getTask()), textOf(p.getExecId())))
      .then([ctx](State s) mutable { toWire(s, ctx.getResults().initState()); });
}

kj::Promise<void> ApiService::list(ListContext ctx) {
  std::string ns = textOf(ctx.getParams().getNamespace());
  if (ns.empty()) ns = "default";
  // From the cache: list never waits on a shim.
  auto run = [](Runtime& rt, std::string ns) -> asio::awaitable<std::vector<State>> {
    std::vector<State> out;
    for (auto& task : co_await rt.tasks(std::move(ns))) out.push_back(task->cachedState());
    co_return out;
  };
  return spawnKj(run(runtime_, std::move(ns))).then([ctx](std::vector<State> states) mutable {
    auto list = ctx.getResults().initTasks(static_cast<unsigned>(states.size()));
    for (unsigned i = 0; i < states.size(); ++i) toWire(states[i], list[i]);
  });
}

kj::Promise<void> ApiService::kill(KillContext ctx) {
  auto p = ctx.getParams();
  auto run = [](Runtime& rt, Ref ref, std::string execId, uint32_t sig, bool all) -> asio::awaitable<void> {
    auto proc = co_await processOf(rt, std::move(ref), std::move(execId));
    co_await proc->kill(sig, all);
  };
  return spawnKj(run(runtime_, refOf(p.getTask()), textOf(p.getExecId()), p.getSignal(), p.getAll()));
}

kj::Promise<void> ApiService::wait(WaitContext ctx) {
  auto p = ctx.getParams();
  auto run = [](Runtime& rt, Ref ref, std::string execId,
                std::shared_ptr<CallCancel> cancel) -> asio::awaitable<Exit> {
    auto proc = co_await processOf(rt, std::move(ref), std::move(execId));
    co_return co_await proc->wait(std::move(cancel));
  };
  // A client that goes (Ctrl-C, `timeout … berthctl wait`) ends the wait
  // here and at the shim (common/call_cancel.h).
  ctx.allowCancellation();
  auto cancel = std::make_shared<CallCancel>();
  return cancelledWhenDropped(spawnKj(run(runtime_, refOf(p.getTask()), textOf(p.getExecId()), cancel)), cancel)
      .then([ctx](Exit e) mutable { toWire(e, ctx.getResults().initExit()); });
}

kj::Promise<void> ApiService::delete_(DeleteContext ctx) {
  auto p = ctx.getParams();
  auto run = [](Runtime& rt, Ref ref, std::string execId) -> asio::awaitable<Exit> {
    auto task = co_await rt.get(ref.ns, ref.id);
    if (execId.empty()) co_return co_await rt.remove(std::move(task));
    checkIdentifier("exec id", execId);
    co_return co_await task->deleteProcess(std::move(execId));
  };
  return spawnKj(run(runtime_, refOf(p.getTask()), textOf(p.getExecId())))
      .then([ctx](Exit e) mutable { toWire(e, ctx.getResults().initExit()); });
}

kj::Promise<void> ApiService::exec(ExecContext ctx) {
  auto p = ctx.getParams();
  auto run = [](Runtime& rt, Ref ref, std::string execId, ExecOpts opts) -> asio::awaitable<void> {
    checkIdentifier("exec id", execId);
    auto task = co_await rt.get(ref.ns, ref.id);
    co_await task->exec(std::move(execId), std::move(opts));
  };
  return spawnKj(run(runtime_, refOf(p.getTask()), textOf(p.getExecId()), fromWire(p.getOpts())));
}

kj::Promise<void> ApiService::pids(PidsContext ctx) {
  auto p = ctx.getParams();
  auto run = [](Runtime& rt, Ref ref) -> asio::awaitable<std::vector<ProcessInfo>> {
    auto task = co_await rt.get(ref.ns, ref.id);
    co_return co_await task->pids();
  };
  return spawnKj(run(runtime_, refOf(p.getTask()))).then([ctx](std::vector<ProcessInfo> procs) mutable {
    auto list = ctx.getResults().initProcesses(static_cast<unsigned>(procs.size()));
    for (unsigned i = 0; i < procs.size(); ++i) toWire(procs[i], list[i]);
  });
}

kj::Promise<void> ApiService::pause(PauseContext ctx) {
  auto run = [](Runtime& rt, Ref ref) -> asio::awaitable<void> {
    auto task = co_await rt.get(ref.ns, ref.id);
    co_await task->pause();
  };
  return spawnKj(run(runtime_, refOf(ctx.getParams().getTask())));
}

kj::Promise<void> ApiService::resume(ResumeContext ctx) {
  auto run = [](Runtime& rt, Ref ref) -> asio::awaitable<void> {
    auto task = co_await rt.get(ref.ns, ref.id);
    co_await task->resume();
  };
  return spawnKj(run(runtime_, refOf(ctx.getParams().getTask())));
}

kj::Promise<void> ApiService::update(UpdateContext ctx) {
  auto p = ctx.getParams();
  auto run = [](Runtime& rt, Ref ref, std::string resources) -> asio::awaitable<void> {
    if (resources.size() > kMaxSpecBytes) throw invalidArgument("resources are larger than 4 MiB");
    auto task = co_await rt.get(ref.ns, ref.id);
    co_await task->update(std::move(resources));
  };
  return spawnKj(run(runtime_, refOf(p.getTask()), bytesOf(p.getResources())));
}

kj::Promise<void> ApiService::metrics(MetricsContext ctx) {
  auto run = [](Runtime& rt, Ref ref) -> asio::awaitable<Metrics> {
    auto task = co_await rt.get(ref.ns, ref.id);
    co_return co_await task->metrics();
  };
  return spawnKj(run(runtime_, refOf(ctx.getParams().getTask()))).then([ctx](Metrics m) mutable {
    toWire(m, ctx.getResults().initMetrics());
  });
}

kj::Promise<void> ApiService::checkpoint(CheckpointContext ctx) {
  auto p = ctx.getParams();
  auto run = [](Runtime& rt, Ref ref, std::string imagePath, bool exit) -> asio::awaitable<void> {
    auto task = co_await rt.get(ref.ns, ref.id);
    co_await task->checkpoint(std::move(imagePath), exit);
  };
  return spawnKj(run(runtime_, refOf(p.getTask()), textOf(p.getImagePath()), p.getExit()));
}

kj::Promise<void> ApiService::resizePty(ResizePtyContext ctx) {
  auto p = ctx.getParams();
  auto run = [](Runtime& rt, Ref ref, std::string execId, ConsoleSize size) -> asio::awaitable<void> {
    auto proc = co_await processOf(rt, std::move(ref), std::move(execId));
    co_await proc->resizePty(size);
  };
  return spawnKj(run(runtime_, refOf(p.getTask()), textOf(p.getExecId()), fromWire(p.getSize())));
}

kj::Promise<void> ApiService::closeIO(CloseIOContext ctx) {
  auto p = ctx.getParams();
  auto run = [](Runtime& rt, Ref ref, std::string execId) -> asio::awaitable<void> {
    auto proc = co_await processOf(rt, std::move(ref), std::move(execId));
    co_await proc->closeIO();
  };
  return spawnKj(run(runtime_, refOf(p.getTask()), textOf(p.getExecId())));
}

kj::Promise<void> ApiService::subscribe(SubscribeContext ctx) {
  auto p = ctx.getParams();
  std::optional<uint64_t> since;
  if (p.getHasSince()) since = p.getSince();
  auto sub = events_.subscribe(p.getSink(), textOf(p.getTopicPrefix()), since);
  subscriptions_.push_back(sub.id);
  ctx.getResults().setLastSeq(sub.lastSeq);
  return kj::READY_NOW;
}

kj::Promise<void> ApiService::version(VersionContext ctx) {
  auto r = ctx.getResults();
  r.setVersion(version_);
  r.setPid(static_cast<uint32_t>(::getpid()));
  return kj::READY_NOW;
}

}  // namespace berth
