#include "shim/service.h"

#include "common/errors.h"
#include "common/kj_await.h"
#include "common/task_metrics.h"
#include "common/wire_status.h"

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth::shim {

namespace {
IoPaths ioFrom(wire::IO::Reader io) {
  return {io.getStdin(), io.getStdout(), io.getStderr(), io.getTerminal()};
}

// Runs `body`, turning a berth::Error (or any exception) into a KJ exception
// whose description carries the contract code.
template <typename F>
kj::Promise<void> guarded(F&& body) {
  try {
    return body();
  } catch (Error& e) {
    return toKjException(e);
  } catch (std::exception& e) {
    return toKjException(internal(e.what()));
  }
}
}  // namespace

void fillExit(wire::Exit::Builder out, const ExitInfo& exit) {
  out.setPid(exit.pid);
  out.setExitedAtNs(exit.exitedAtNs);
  if (exit.exitedAtNs == 0) {
    out.initStatus().setNone();
  } else {
    setExitStatus(out.initStatus(), exit.waitStatus);
  }
}

ShimService::ShimService(Task& task, std::function<void()> requestExit)
    : task_(task), requestExit_(std::move(requestExit)) {}

capnp::Capability::Server::DispatchCallResult ShimService::dispatchCall(
    uint64_t interfaceId, uint16_t methodId,
    capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> context) {
  auto result = wire::Shim::Server::dispatchCall(interfaceId, methodId, context);
  result.promise = result.promise.attach(kj::defer([]() { trimSoon(); }));
  return result;
}

void ShimService::trimSoon() {
  static bool posted = false;  // one loop per shim process
  if (posted) return;
  posted = true;
  asio::post(KjLoop::current().io(), []() {
    posted = false;
    ::malloc_trim(0);
  });
}

kj::Promise<void> ShimService::create(CreateContext ctx) {
  return guarded([&] {
    auto req = ctx.getParams();
    if (std::string(req.getId().cStr()) != task_.config().id) {
      throw invalidArgument("this shim serves task " + task_.config().id + ", not " +
                            std::string(req.getId().cStr()));
    }
    std::vector<MountSpec> rootfs;
    for (auto m : req.getOpts().getRootfs()) {
      MountSpec spec{m.getType(), m.getSource(), m.getTarget(), {}};
      for (auto o : m.getOptions()) spec.options.emplace_back(o.cStr());
      rootfs.push_back(std::move(spec));
    }
    return spawnKj(task_.create(ioFrom(req.getOpts().getIo()), std::move(rootfs),
                                req.getOpts().getCheckpoint()))
        .then([ctx](uint32_t pid) mutable { ctx.getResults().setPid(pid); });
  });
}

kj::Promise<void> ShimService::start(StartContext ctx) {
  return guarded([&] {
    return spawnKj(task_.start(ctx.getParams().getExecId()))
        .then([ctx](uint32_t pid) mutable { ctx.getResults().setPid(pid); });
  });
}

kj::Promise<void> ShimService::state(StateContext ctx) {
  return guarded([&] {
    auto v = task_.state(ctx.getParams().getExecId());
    auto s = ctx.getResults().initState();
    s.setId(v.execId.empty() ? task_.config().id : v.execId);
    s.setExecId(v.execId);
    s.setStatus(toWire(v.status));
    s.setPid(v.pid);
    fillExit(s.initExit(), v.exit.value_or(ExitInfo{}));
    auto io = s.initIo();
    io.setStdin(v.io.stdin);
    io.setStdout(v.io.stdout);
    io.setStderr(v.io.stderr);
    io.setTerminal(v.io.terminal);
    return kj::Promise<void>(kj::READY_NOW);
  });
}

kj::Promise<void> ShimService::kill(KillContext ctx) {
  return guarded([&] {
    auto r = ctx.getParams();
    return spawnKj(task_.kill(r.getExecId(), static_cast<int>(r.getSignal()), r.getAll()));
  });
}

kj::Promise<void> ShimService::wait(WaitContext ctx) {
  ctx.allowCancellation();  // berthd cancels it when its own caller went away
  return guarded([&] {
    return task_.wait(ctx.getParams().getExecId())
        .then([ctx](ExitInfo exit) mutable { fillExit(ctx.getResults().initExit(), exit); });
  });
}

kj::Promise<void> ShimService::delete_(DeleteContext ctx) {
  return guarded([&] {
    return spawnKj(task_.remove(ctx.getParams().getExecId()))
        .then([this, ctx](ExitInfo exit) mutable {
          fillExit(ctx.getResults().initExit(), exit);
          ctx.getResults().setLastSeq(task_.events().lastSeq());
        });
  });
}

kj::Promise<void> ShimService::exec(ExecContext ctx) {
  return guarded([&] {
    auto r = ctx.getParams();
    auto spec = r.getOpts().getSpec();
    task_.exec(r.getExecId(), std::string(spec.asChars().begin(), spec.size()),
               ioFrom(r.getOpts().getIo()));
    return kj::Promise<void>(kj::READY_NOW);
  });
}

kj::Promise<void> ShimService::pids(PidsContext ctx) {
  return guarded([&] {
    return spawnKj(task_.pids()).then([ctx](std::vector<PidInfo> pids) mutable {
      auto list = ctx.getResults().initProcesses(static_cast<unsigned>(pids.size()));
      for (unsigned i = 0; i < pids.size(); ++i) {
        list[i].setPid(pids[i].pid);
        list[i].setInfo(pids[i].info);
      }
    });
  });
}

kj::Promise<void> ShimService::pause(PauseContext) {
  return guarded([&] { return spawnKj(task_.pause()); });
}

kj::Promise<void> ShimService::resume(ResumeContext) {
  return guarded([&] { return spawnKj(task_.resume()); });
}

kj::Promise<void> ShimService::update(UpdateContext ctx) {
  return guarded([&] {
    auto data = ctx.getParams().getResources();
    return spawnKj(task_.update(std::string(data.asChars().begin(), data.size())));
  });
}

kj::Promise<void> ShimService::checkpoint(CheckpointContext ctx) {
  return guarded([&] {
    auto r = ctx.getParams();
    return spawnKj(task_.checkpoint(r.getImagePath(), r.getExit()));
  });
}

kj::Promise<void> ShimService::resizePty(ResizePtyContext ctx) {
  return guarded([&] {
    auto r = ctx.getParams();
    task_.resize(r.getExecId(), r.getSize().getWidth(), r.getSize().getHeight());
    return kj::Promise<void>(kj::READY_NOW);
  });
}

kj::Promise<void> ShimService::closeIO(CloseIOContext ctx) {
  return guarded([&] {
    task_.closeIO(ctx.getParams().getExecId());
    return kj::Promise<void>(kj::READY_NOW);
  });
}

kj::Promise<void> ShimService::stats(StatsContext ctx) {
  return guarded([&] {
    toWire(task_.stats(), ctx.getResults().initMetrics());
    return kj::Promise<void>(kj::READY_NOW);
  });
}

kj::Promise<void> ShimService::connect(ConnectContext ctx) {
  auto r = ctx.getResults();
  r.setShimPid(static_cast<uint32_t>(::getpid()));
  r.setTaskPid(task_.initPid());
  r.setVersion(BERTH_VERSION);
  r.setLastSeq(task_.events().lastSeq());
  return kj::READY_NOW;
}

kj::Promise<void> ShimService::shutdown(ShutdownContext ctx) {
  return guarded([&] {
    if (!ctx.getParams().getNow() && task_.created() && !task_.deleted()) {
      throw failedPrecondition("cannot shut down: task " + task_.config().id +
                               " is not deleted");
    }
    requestExit_();
    return kj::Promise<void>(kj::READY_NOW);
  });
}

kj::Promise<void> ShimService::subscribe(SubscribeContext ctx) {
  auto r = ctx.getParams();
  task_.events().subscribe(r.getSink(), r.getAfterSeq());
  ctx.getResults().setLastSeq(task_.events().lastSeq());
  return kj::READY_NOW;
}

}  // namespace berth::shim
