// RPC round trips through berth's Asio-hosted KJ loop, beside KJ's own loop
// and a raw unix-socket ping-pong, all in one run (bench/rpc drives it).
//
//   rpc_bench server {asio|kj|raw} SOCK CPU
//   rpc_bench client {asio|kj|raw} SOCK CPU SEQ_CALLS PIPELINED_CALLS
// The client prints: MODE median_us p99_us seq_calls_per_s pipelined_calls_per_s
#include "bench.capnp.h"
#include "common/asio.h"
#include "common/kj_loop.h"
#include "common/rpc.h"
#include "common/unix_socket.h"

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace berth;
using berth::bench::Echo;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kInFlight = 64;

void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

class EchoImpl final : public Echo::Server {
 public:
  kj::Promise<void> echo(EchoContext ctx) override {
    ctx.getResults().setN(ctx.getParams().getN());
    return kj::READY_NOW;
  }
};

struct Result {
  std::vector<double> latUs;
  double seqPerS = 0, pipePerS = 0;
};

// Sequential then pipelined calls on any Echo client; `run` drives the loop
// until a promise settles.
template <typename Wait>
Result measure(Echo::Client& echo, int seqCalls, int pipeCalls, Wait&& waitFor) {
  Result r;
  for (int i = 0; i < 200; ++i) {  // warm-up
    auto req = echo.echoRequest();
    req.setN(i);
    waitFor(req.send().ignoreResult());
  }
  r.latUs.reserve(seqCalls);
  auto t0 = Clock::now();
  for (int i = 0; i < seqCalls; ++i) {
    auto s = Clock::now();
    auto req = echo.echoRequest();
    req.setN(i);
    waitFor(req.send().ignoreResult());
    r.latUs.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
  }
  r.seqPerS = seqCalls / std::chrono::duration<double>(Clock::now() - t0).count();
  // Pipelined: keep kInFlight calls outstanding.
  int sent = 0, done = 0;
  auto paf = kj::newPromiseAndFulfiller<void>();
  auto* fulfiller = paf.fulfiller.get();
  kj::TaskSet::ErrorHandler* eh = nullptr;
  struct H final : kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&& e) override { KJ_LOG(ERROR, e); }
  } handler;
  eh = &handler;
  kj::TaskSet tasks(*eh);
  std::function<void()> sendOne = [&]() {
    if (sent >= pipeCalls) return;
    ++sent;
    auto req = echo.echoRequest();
    req.setN(sent);
    tasks.add(req.send().then([&](auto&&) {
      if (++done == pipeCalls) fulfiller->fulfill();
      sendOne();
    }));
  };
  t0 = Clock::now();
  for (int i = 0; i < kInFlight; ++i) sendOne();
  waitFor(kj::mv(paf.promise));
  r.pipePerS = pipeCalls / std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

void report(const char* mode, Result& r) {
  std::sort(r.latUs.begin(), r.latUs.end());
  double med = r.latUs[r.latUs.size() / 2];
  double p99 = r.latUs[std::min(r.latUs.size() - 1, r.latUs.size() * 99 / 100)];
  std::printf("%s %.1f %.1f %.0f %.0f\n", mode, med, p99, r.seqPerS, r.pipePerS);
}

int serveAsio(const std::string& path) {
  asio::io_context io;
  KjLoop loop(io);
  RpcListener listener(loop, path, []() -> capnp::Capability::Client { return kj::heap<EchoImpl>(); });
  std::printf("ready\n");
  std::fflush(stdout);
  io.run();
  return 0;
}

int serveKj(const std::string& path) {
  auto aio = kj::setupAsyncIo();
  auto addr = aio.provider->getNetwork().parseAddress(kj::str("unix:", path.c_str())).wait(aio.waitScope);
  auto listener = addr->listen();
  capnp::TwoPartyServer server(kj::heap<EchoImpl>());
  std::printf("ready\n");
  std::fflush(stdout);
  server.listen(*listener).wait(aio.waitScope);
  return 0;
}

int serveRaw(const std::string& path) {
  int lfd = listenUnixFd(path);
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) {
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    char buf[8];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_WAITALL);
      if (n <= 0) break;
      if (::send(fd, buf, n, MSG_NOSIGNAL) != n) break;
    }
    ::close(fd);
  }
}

int clientAsio(const std::string& path, int seq, int pipe) {
  asio::io_context io;
  KjLoop loop(io);
  auto conn = connectRpc(io, path);
  auto echo = conn->peer<Echo>();
  auto r = measure(echo, seq, pipe, [&](kj::Promise<void> p) { p.wait(loop.waitScope()); });
  report("adapter", r);
  return 0;
}

int clientKj(const std::string& path, int seq, int pipe) {
  auto aio = kj::setupAsyncIo();
  auto addr = aio.provider->getNetwork().parseAddress(kj::str("unix:", path.c_str())).wait(aio.waitScope);
  auto stream = addr->connect().wait(aio.waitScope);
  capnp::TwoPartyClient client(*stream);
  auto echo = client.bootstrap().castAs<Echo>();
  auto r = measure(echo, seq, pipe, [&](kj::Promise<void> p) { p.wait(aio.waitScope); });
  report("kj-loop", r);
  return 0;
}

int clientRaw(const std::string& path, int seq) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return 1;
  Result r;
  char buf[8] = {};
  auto once = [&] {
    if (::send(fd, buf, 8, MSG_NOSIGNAL) != 8 || ::recv(fd, buf, 8, MSG_WAITALL) != 8) std::exit(1);
  };
  for (int i = 0; i < 200; ++i) once();
  auto t0 = Clock::now();
  for (int i = 0; i < seq; ++i) {
    auto s = Clock::now();
    once();
    r.latUs.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
  }
  r.seqPerS = seq / std::chrono::duration<double>(Clock::now() - t0).count();
  r.pipePerS = 0;  // a ping-pong has nothing to pipeline
  report("raw-socket", r);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: rpc_bench server|client asio|kj|raw SOCK CPU [SEQ PIPE]\n");
    return 2;
  }
  std::string role = argv[1], mode = argv[2], path = argv[3];
  pin(std::atoi(argv[4]));
  if (role == "server") {
    if (mode == "asio") return serveAsio(path);
    if (mode == "kj") return serveKj(path);
    return serveRaw(path);
  }
  int seq = argc > 5 ? std::atoi(argv[5]) : 20000;
  int pipe = argc > 6 ? std::atoi(argv[6]) : 200000;
  if (mode == "asio") return clientAsio(path, seq, pipe);
  if (mode == "kj") return clientKj(path, seq, pipe);
  return clientRaw(path, seq);
}
