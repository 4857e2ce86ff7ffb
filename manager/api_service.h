// berthd's client API (berth.capnp Berth), served on --address. Only
// translation: each method copies its params into plain values, runs the
// runtime operation as a coroutine (spawnKj) and fills the results; a
// berth::Error becomes a capnp exception "CODE: message".
#pragma once

#include "berth.capnp.h"
#include "manager/event_exchange.h"
#include "manager/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace berth {

class ApiService final : public wire::Berth::Server {
 public:
  ApiService(Runtime& runtime, EventExchange& events, std::string version);
  // One per client connection: its subscribers go with it.
  ~ApiService();

  kj::Promise<void> create(CreateContext ctx) override;
  kj::Promise<void> start(StartContext ctx) override;
  kj::Promise<void> state(StateContext ctx) override;
  kj::Promise<void> list(ListContext ctx) override;
  kj::Promise<void> kill(KillContext ctx) override;
  kj::Promise<void> wait(WaitContext ctx) override;
  kj::Promise<void> delete_(DeleteContext ctx) override;
  kj::Promise<void> exec(ExecContext ctx) override;
  kj::Promise<void> pids(PidsContext ctx) override;
  kj::Promise<void> pause(PauseContext ctx) override;
  kj::Promise<void> resume(ResumeContext ctx) override;
  kj::Promise<void> update(UpdateContext ctx) override;
  kj::Promise<void> metrics(MetricsContext ctx) override;
  kj::Promise<void> checkpoint(CheckpointContext ctx) override;
  kj::Promise<void> resizePty(ResizePtyContext ctx) override;
  kj::Promise<void> closeIO(CloseIOContext ctx) override;
  kj::Promise<void> subscribe(SubscribeContext ctx) override;
  kj::Promise<void> version(VersionContext ctx) override;

 private:
  Runtime& runtime_;
  EventExchange& events_;
  std::string version_;
  std::vector<uint64_t> subscriptions_;  // this connection's subscribers
};

}  // namespace berth
