// The Asio/KJ adapter between two real processes over a unix socket.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "common/asio.h"
#include "common/errors.h"
#include "common/kj_await.h"
#include "common/kj_loop.h"
#include "common/rpc.h"
#include "test.capnp.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace berth;
using berth::testrpc::Callback;
using berth::testrpc::TestService;

namespace {

std::string peerBinary() {
  const char* p = std::getenv("RPC_PEER");
  REQUIRE(p != nullptr);
  return p;
}

// A child process owned by the test: killed and reaped however the test ends.
class Child {
 public:
  explicit Child(std::vector<std::string> argv, bool readStdout = true) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
    if (readStdout) readLine();
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  std::string readLine() {
    std::string line;
    char ch;
    while (::read(out_, &ch, 1) == 1 && ch != '\n') line += ch;
    return line;
  }
  void kill9() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/berth-rpc.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

struct Server {
  TempDir dir;
  std::string sock = dir.path + "/test.sock";
  Child child{{peerBinary(), "serve", sock}};
};

// Counts into the test's own variable: the server releases the capability
// (and so destroys this object) as soon as it is done with it.
class Summer final : public Callback::Server {
 public:
  explicit Summer(int& calls) : calls_(calls) {}
  kj::Promise<void> call(CallContext ctx) override {
    ++calls_;
    ctx.getResults().setR(ctx.getParams().getI() * 2);
    return kj::READY_NOW;
  }

 private:
  int& calls_;
};

template <typename T>
auto waitIn(KjLoop& loop, kj::Promise<T> p) {
  return p.wait(loop.waitScope());
}

// Waits (driving the loop) until `pred` holds or `ms` pass.
template <typename Pred>
bool pollUntil(KjLoop& loop, Pred pred, int ms = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    loop.io().run_for(std::chrono::milliseconds(10));
    loop.io().restart();
  }
  return true;
}

uint64_t stat(TestService::Client& svc, KjLoop& loop, const char* which) {
  auto r = waitIn(loop, svc.statsRequest().send());
  std::string w = which;
  if (w == "ticks") return r.getTicks();
  if (w == "signals") return r.getSignals();
  if (w == "connections") return r.getConnections();
  return r.getDisconnects();
}

long cpuTicks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  auto rest = s.substr(s.rfind(')') + 2);
  std::istringstream in(rest);
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

}  // namespace

TEST_CASE("A call crosses to another process and its answer comes back") {
  Server server;
  asio::io_context io;
  KjLoop loop(io);
  auto conn = connectRpc(io, server.sock);
  auto svc = conn->peer<TestService>();
  auto req = svc.echoRequest();
  req.setText("hello berth");
  CHECK(std::string(waitIn(loop, req.send()).getText().cStr()) == "hello berth");
}

TEST_CASE("A capability passed to the server is called back by the server") {
  Server server;
  asio::io_context io;
  KjLoop loop(io);
  auto conn = connectRpc(io, server.sock);
  auto svc = conn->peer<TestService>();
  int calls = 0;
  auto req = svc.callBackRequest();
  req.setCb(kj::heap<Summer>(calls));
  req.setN(10);
  CHECK(waitIn(loop, req.send()).getSum() == 110);  // 2 * (1 + ... + 10)
  CHECK(calls == 10);
}

TEST_CASE("A coroutine awaits a KJ promise and a KJ caller awaits a coroutine") {
  Server server;
  asio::io_context io;
  KjLoop loop(io);
  auto conn = connectRpc(io, server.sock);
  auto svc = conn->peer<TestService>();
  // Client side: a coroutine that makes the call through awaitKj.
  auto viaCoroutine = [&svc]() -> asio::awaitable<uint32_t> {
    auto req = svc.sleepRequest();
    req.setMs(30);
    auto resp = co_await awaitKj(req.send());
    co_return resp.getSleptMs();
  };
  uint32_t slept = waitIn(loop, spawnKj(viaCoroutine()));
  CHECK(slept >= 30);
}

TEST_CASE("Errors cross the wire with their contract code") {
  Server server;
  asio::io_context io;
  KjLoop loop(io);
  auto conn = connectRpc(io, server.sock);
  auto svc = conn->peer<TestService>();
  for (auto [code, expected] : {std::pair{"not-found", Code::NotFound},
                                std::pair{"already-exists", Code::AlreadyExists},
                                std::pair{"failed-precondition", Code::FailedPrecondition}}) {
    auto req = svc.failRequest();
    req.setCode(code);
    try {
      waitIn(loop, req.send());
      FAIL("no error");
    } catch (kj::Exception& e) {
      CHECK(fromKjException(e).code() == expected);
    }
  }
}

// A server in a child process, and a connection to it that has made a call.
struct CalledServer {
  Server server;
  asio::io_context io;
  KjLoop loop{io};
  std::unique_ptr<RpcConnection> conn = connectRpc(io, server.sock);
  TestService::Client svc = conn->peer<TestService>();

  CalledServer() {
    auto req = svc.echoRequest();
    req.setText("x");
    waitIn(loop, req.send());
  }
};

TEST_CASE("The client sees the server go away, on close and on kill -9") {
  CalledServer f;
  auto& [server, io, loop, conn, svc] = f;
  bool gone = false;
  loop.detach(conn->onDisconnect().then([&gone]() { gone = true; }), "test");
  SECTION("kill -9") { server.child.kill9(); }
  SECTION("close (SIGTERM, the server exits)") {
    ::kill(server.child.pid(), SIGTERM);
    server.child.wait();
  }
  CHECK(pollUntil(loop, [&] { return gone; }));
  auto again = svc.echoRequest();
  again.setText("y");
  try {
    waitIn(loop, again.send());
    FAIL("a call to a dead server succeeded");
  } catch (kj::Exception& e) {
    CHECK(fromKjException(e).code() == Code::Unavailable);
  }
}

TEST_CASE("A call written to a server that just died fails as unavailable, without hanging") {
  CalledServer f;
  auto& [server, io, loop, conn, svc] = f;
  server.child.kill9();
  // Sent before the loop has read the EOF: the write to the dead peer is
  // dropped (not an error), and the read side's EOF fails the call.
  auto again = svc.echoRequest();
  again.setText("y");
  bool failed = false, answered = false;
  loop.detach(again.send().then([&](auto&&) { answered = true; },
                                [&](kj::Exception&& e) {
                                  failed = fromKjException(e).code() == Code::Unavailable;
                                }),
              "test");
  CHECK(pollUntil(loop, [&] { return failed || answered; }));
  CHECK(failed);
  CHECK_FALSE(answered);
}

TEST_CASE("The server sees a client go away, on close and on kill -9") {
  Server server;
  asio::io_context io;
  KjLoop loop(io);
  auto conn = connectRpc(io, server.sock);
  auto svc = conn->peer<TestService>();
  {
    // A client in this process that connects and closes.
    auto other = connectRpc(io, server.sock);
    auto s2 = other->peer<TestService>();
    auto req = s2.echoRequest();
    waitIn(loop, req.send());
  }
  CHECK(pollUntil(loop, [&] { return stat(svc, loop, "disconnects") == 1; }));
  Child holder({peerBinary(), "client", server.sock, "hold"}, false);
  CHECK(holder.readLine() == "connected");
  CHECK(stat(svc, loop, "connections") == 2);
  holder.kill9();
  CHECK(pollUntil(loop, [&] { return stat(svc, loop, "disconnects") == 2; }));
  CHECK(stat(svc, loop, "connections") == 1);
}

TEST_CASE("Timers and signals keep firing during a burst of RPC") {
  Server server;
  asio::io_context io;
  KjLoop loop(io);
  auto conn = connectRpc(io, server.sock);
  auto svc = conn->peer<TestService>();
  auto start = svc.startTickingRequest();
  start.setIntervalMs(1);
  waitIn(loop, start.send());
  // A burst: 64 calls in flight at a time, 20,000 in all, with SIGUSR1s between.
  constexpr int kTotal = 20000, kInFlight = 64, kSignals = 20;
  int sent = 0, done = 0, signalsSent = 0;
  auto t0 = std::chrono::steady_clock::now();
  std::function<void()> sendOne = [&]() {
    if (sent >= kTotal) return;
    ++sent;
    auto req = svc.echoRequest();
    req.setText("burst");
    loop.detach(req.send().then([&](auto&&) {
      ++done;
      if (done % (kTotal / kSignals) == 0 && signalsSent < kSignals) {
        ::kill(server.child.pid(), SIGUSR1);
        ++signalsSent;
      }
      sendOne();
    }), "burst");
  };
  for (int i = 0; i < kInFlight; ++i) sendOne();
  REQUIRE(pollUntil(loop, [&] { return done == kTotal; }, 60000));
  auto burstMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - t0).count();
  waitIn(loop, svc.stopTickingRequest().send());
  // Signals are delivered asynchronously; give the last one a moment.
  CHECK(pollUntil(loop, [&] { return stat(svc, loop, "signals") == kSignals; }));
  uint64_t ticks = stat(svc, loop, "ticks");
  INFO("burst took " << burstMs << " ms, ticks " << ticks);
  // A 1 ms timer starved by the burst would fire a handful of times at most;
  // a fair loop fires it at least once every few ms of burst.
  CHECK(ticks >= static_cast<uint64_t>(burstMs / 10));
  CHECK(ticks > 0);
}

TEST_CASE("An idle server uses no CPU") {
  Server server;
  {
    asio::io_context io;
    KjLoop loop(io);
    auto conn = connectRpc(io, server.sock);
    auto svc = conn->peer<TestService>();
    auto req = svc.echoRequest();
    waitIn(loop, req.send());
    // Stay connected while idle: a connection must not cost wakeups either.
    long before = cpuTicks(server.child.pid());
    std::this_thread::sleep_for(std::chrono::seconds(5));
    long after = cpuTicks(server.child.pid());
    CHECK(after - before == 0);
  }
}

TEST_CASE("A peer running as another uid is refused") {
  Server server;
  if (::geteuid() != 0) {
    WARN("not root: cannot run a peer as uid 65534; skipped");
    return;
  }
  // Open the socket's mode so it is SO_PEERCRED, not the file mode, that refuses.
  REQUIRE(::chmod(server.sock.c_str(), 0666) == 0);
  REQUIRE(::chmod(server.dir.path.c_str(), 0755) == 0);
  Child other({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               peerBinary(), "client", server.sock, "echo"},
              false);
  CHECK(other.wait() == 3);
  // And our own uid still gets through.
  Child self({peerBinary(), "client", server.sock, "echo"}, false);
  CHECK(self.wait() == 0);
}
