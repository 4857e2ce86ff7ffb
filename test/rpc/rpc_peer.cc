// One side of the adapter tests: `rpc_peer serve SOCK` serves TestService;
// `rpc_peer client SOCK [echo|hold]` connects (echo: one call, exit 0 on
// success, 3 when the server refused us; hold: stay connected until killed).
#include "common/asio.h"
#include "common/errors.h"
#include "common/kj_await.h"
#include "common/kj_loop.h"
#include "common/log.h"
#include "common/rpc.h"
#include "test.capnp.h"

#include <cstdio>
#include <cstring>
#include <iostream>

using namespace berth;
using berth::testrpc::Callback;
using berth::testrpc::TestService;

namespace {

struct Counters {
  uint64_t ticks = 0, signals = 0, disconnects = 0;
  RpcListener* listener = nullptr;
};

asio::awaitable<uint32_t> sleepFor(uint32_t ms) {
  auto start = std::chrono::steady_clock::now();
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await timer.async_wait(asio::use_awaitable);
  co_return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - start)
                                      .count());
}

// Calls cb 1..n sequentially from a coroutine, through awaitKj.
asio::awaitable<uint32_t> callBackLoop(Callback::Client cb, uint32_t n) {
  uint32_t sum = 0;
  for (uint32_t i = 1; i <= n; ++i) {
    auto req = cb.callRequest();
    req.setI(i);
    auto resp = co_await awaitKj(req.send());
    sum += resp.getR();
  }
  co_return sum;
}

class Service final : public TestService::Server {
 public:
  Service(asio::io_context& io, Counters& c) : io_(io), c_(c), timer_(io) {}

  kj::Promise<void> echo(EchoContext ctx) override {
    ctx.getResults().setText(ctx.getParams().getText());
    return kj::READY_NOW;
  }
  kj::Promise<void> callBack(CallBackContext ctx) override {
    auto cb = ctx.getParams().getCb();
    uint32_t n = ctx.getParams().getN();
    return spawnKj(callBackLoop(kj::mv(cb), n)).then([ctx](uint32_t sum) mutable {
      ctx.getResults().setSum(sum);
    });
  }
  kj::Promise<void> startTicking(StartTickingContext ctx) override {
    interval_ = std::chrono::milliseconds(ctx.getParams().getIntervalMs());
    ticking_ = true;
    tick();
    return kj::READY_NOW;
  }
  kj::Promise<void> stopTicking(StopTickingContext) override {
    ticking_ = false;
    timer_.cancel();
    return kj::READY_NOW;
  }
  kj::Promise<void> stats(StatsContext ctx) override {
    auto r = ctx.getResults();
    r.setTicks(c_.ticks);
    r.setSignals(c_.signals);
    r.setDisconnects(c_.disconnects);
    r.setConnections(c_.listener->connectionCount());
    return kj::READY_NOW;
  }
  kj::Promise<void> sleep(SleepContext ctx) override {
    return spawnKj(sleepFor(ctx.getParams().getMs())).then([ctx](uint32_t ms) mutable {
      ctx.getResults().setSleptMs(ms);
    });
  }
  kj::Promise<void> fail(FailContext ctx) override {
    std::string code = ctx.getParams().getCode().cStr();
    if (code == "not-found") throw toKjException(notFound("task does not exist"));
    if (code == "already-exists") throw toKjException(alreadyExists("task already exists"));
    throw toKjException(failedPrecondition("cannot start a stopped process"));
  }

 private:
  void tick() {
    if (!ticking_) return;
    timer_.expires_after(interval_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      ++c_.ticks;
      tick();
    });
  }
  asio::io_context& io_;
  Counters& c_;
  asio::steady_timer timer_;
  std::chrono::milliseconds interval_{1};
  bool ticking_ = false;
};

void watchSignals(asio::signal_set& set, Counters& c) {
  set.async_wait([&set, &c](const boost::system::error_code& ec, int) {
    if (ec) return;
    ++c.signals;
    watchSignals(set, c);
  });
}

int serve(const std::string& path) {
  asio::io_context io;
  KjLoop loop(io);
  Counters c;
  RpcListener listener(loop, path, [&io, &c]() -> capnp::Capability::Client {
    return kj::heap<Service>(io, c);
  });
  c.listener = &listener;
  listener.onDisconnect = [&c]() { ++c.disconnects; };
  asio::signal_set usr1(io, SIGUSR1);
  watchSignals(usr1, c);
  asio::signal_set term(io, SIGTERM);
  term.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  std::printf("ready\n");
  std::fflush(stdout);
  io.run();
  return 0;
}

int client(const std::string& path, const std::string& mode) {
  asio::io_context io;
  KjLoop loop(io);
  auto conn = connectRpc(io, path);
  auto svc = conn->peer<TestService>();
  if (mode == "hold") {
    auto req = svc.echoRequest();
    req.setText("hello");
    req.send().wait(loop.waitScope());
    std::printf("connected\n");
    std::fflush(stdout);
    kj::NEVER_DONE.wait(loop.waitScope());
  }
  try {
    auto req = svc.echoRequest();
    req.setText("hello");
    auto resp = req.send().wait(loop.waitScope());
    std::printf("%s\n", resp.getText().cStr());
    return 0;
  } catch (kj::Exception& e) {
    std::printf("refused: %s\n", e.getDescription().cStr());
    return 3;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "serve") == 0) return serve(argv[2]);
  if (argc >= 3 && std::strcmp(argv[1], "client") == 0) {
    return client(argv[2], argc >= 4 ? argv[3] : "echo");
  }
  std::fprintf(stderr, "usage: rpc_peer serve|client SOCK [echo|hold]\n");
  return 2;
}
