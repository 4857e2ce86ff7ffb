// The shim's RPC face: the only place in shim/ that touches Cap'n Proto
// types. Each method copies its request into plain values, runs the task's
// coroutine, and fills the response; errors cross as "CODE: message".
#pragma once

#include "shim.capnp.h"
#include "shim/task.h"

#include <functional>

namespace berth::shim {

class ShimService final : public wire::Shim::Server {
 public:
  ShimService(Task& task, std::function<void()> requestExit);

  kj::Promise<void> create(CreateContext ctx) override;
  kj::Promise<void> start(StartContext ctx) override;
  kj::Promise<void> state(StateContext ctx) override;
  kj::Promise<void> kill(KillContext ctx) override;
  kj::Promise<void> wait(WaitContext ctx) override;
  kj::Promise<void> delete_(DeleteContext ctx) override;
  kj::Promise<void> exec(ExecContext ctx) override;
  kj::Promise<void> pids(PidsContext ctx) override;
  kj::Promise<void> pause(PauseContext ctx) override;
  kj::Promise<void> resume(ResumeContext ctx) override;
  kj::Promise<void> update(UpdateContext ctx) override;
  kj::Promise<void> checkpoint(CheckpointContext ctx) override;
  kj::Promise<void> resizePty(ResizePtyContext ctx) override;
  kj::Promise<void> closeIO(CloseIOContext ctx) override;
  kj::Promise<void> stats(StatsContext ctx) override;
  kj::Promise<void> connect(ConnectContext ctx) override;
  kj::Promise<void> shutdown(ShutdownContext ctx) override;
  kj::Promise<void> subscribe(SubscribeContext ctx) override;

  // Every call passes through here (capnp's dispatch), so one place trims.
  DispatchCallResult dispatchCall(uint64_t interfaceId, uint16_t methodId,
                                  capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> context)
      override;

 private:
  // Gives freed heap pages back once a call is done: an idle shim's memory
  // is what it holds, not its peak (create/start's runc and JSON work).
  // The shim's, not this service's: a call cancelled with its connection
  // posts the trim as the connection, and this service, are freed.
  static void trimSoon();

  Task& task_;
  std::function<void()> requestExit_;
};

void fillExit(wire::Exit::Builder out, const ExitInfo& exit);

}  // namespace berth::shim
