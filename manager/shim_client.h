// The connection to one berth-shim, and the two one-shot shim commands.
//
// Every call carries a deadline (kDefault; kRunc for create and start, kLong
// for the other calls that run runc; none for wait, which lasts as long as
// the process)
// and a time-out reads "unavailable: shim for NS/ID did not answer within 10 s
// (state)". Calls are KJ promises awaited from coroutines, so calls to
// different shims (and several to one) run concurrently; the loop never blocks.
// A dropped connection (the shim died, or was killed) is reported once through
// the onDisconnect callback.
#pragma once

#include "common/asio.h"
#include "common/call_cancel.h"
#include "common/runc_deadlines.h"
#include "common/reaper.h"
#include "common/rpc.h"
#include "manager/runtime.h"
#include "manager/runtime_copy.h"
#include "shim.capnp.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace berth {

// How berthd runs berth-shim (docs/wire.md).
struct ShimCommand {
  std::string shimPath;     // the berth-shim binary
  std::string runtimePath;  // runc (or crun)
  std::string stateRoot;    // --state: the shim uses STATE/NS/ID, runc STATE/runc/NS
  std::string logLevel;
  std::string cgroupParent = "/berth";  // tasks without a cgroupsPath get PARENT/NS/ID
  std::shared_ptr<RuntimeCopy> runtimeCopy;  // handed to each shim started; null: none
};

struct ShimHello {
  uint32_t shimPid = 0;
  uint32_t taskPid = 0;
  std::string version;
  uint64_t lastSeq = 0;
};

class ShimClient : public std::enable_shared_from_this<ShimClient> {
 public:
  using ms = std::chrono::milliseconds;
  static constexpr ms kDefault{10000};
  static constexpr ms kLong{30000};
  // create and start (of the init or an exec), which run runc at the shim:
  // longer than the shim's own limit for them (common/runc_deadlines.h).
  static constexpr ms kRunc = kShimRuncWorstCase + std::chrono::seconds(5);
  static constexpr ms kCheckpoint{300000};

  // `berth-shim start …`: daemonizes a shim; returns the socket path it prints.
  static asio::awaitable<std::string> startShim(Reaper& reaper, const ShimCommand& cmd,
                                                const std::string& ns, const std::string& id,
                                                const std::string& bundle);
  // `berth-shim delete …` after a dead shim: the init's exit from its exit
  // file (SIGKILL now where there is none, or where the command failed).
  static asio::awaitable<Exit> cleanupShim(Reaper& reaper, const ShimCommand& cmd,
                                           const std::string& ns, const std::string& id,
                                           const std::string& bundle);

  // Connects to a shim's socket (unavailable if nobody listens). LABEL names it
  // in errors ("shim for NS/ID").
  static std::shared_ptr<ShimClient> connect(const std::string& socketPath, std::string label);

  ~ShimClient();
  ShimClient(const ShimClient&) = delete;
  ShimClient& operator=(const ShimClient&) = delete;

  // Called (from the loop, once) when the connection drops, unless disarmed.
  void onDisconnect(std::function<void()> callback) { onDisconnect_ = std::move(callback); }
  // We are about to make the shim exit: its disconnect is expected.
  void disarm() { onDisconnect_ = nullptr; }
  bool connected() const { return connected_; }
  const std::string& label() const { return label_; }

  asio::awaitable<ShimHello> hello(ms deadline = kDefault);
  // hello() and the subscription (events after `afterSeq` to `sink`), sent
  // together: the shim answers a connection's calls in order, so they take
  // one round trip, not two. A create sends its create right behind them,
  // before their answer; answerSubscribe awaits it (within `deadline`) and
  // returns the shim's newest seq.
  kj::Promise<uint64_t> sendHelloAndSubscribe(wire::EventSink::Client sink, uint64_t afterSeq);
  asio::awaitable<uint64_t> answerSubscribe(kj::Promise<uint64_t> sent, ms deadline);
  asio::awaitable<uint32_t> start(std::string execId);
  // A create, and the start of its init sent right behind it (a run): the
  // shim starts the init once its create is done, one round trip for both.
  // answer() awaits each in turn, with create's and start's deadline.
  kj::Promise<uint32_t> sendCreate(const std::string& id, const CreateOpts& opts);
  kj::Promise<uint32_t> sendStart(const std::string& execId);
  asio::awaitable<uint32_t> answer(kj::Promise<uint32_t> sent, const char* what);
  asio::awaitable<State> state(std::string execId, ms deadline = kDefault);
  asio::awaitable<void> kill(std::string execId, uint32_t signal, bool all);
  // No deadline (as long as the process runs); CANCEL (may be null) ends it.
  asio::awaitable<Exit> wait(std::string execId, std::shared_ptr<CallCancel> cancel);
  // `lastSeq` (if given) receives the shim's newest event seq as it answered
  // (0 from an older shim).
  asio::awaitable<Exit> remove(std::string execId, ms deadline = kLong, uint64_t* lastSeq = nullptr);
  asio::awaitable<void> exec(std::string execId, ExecOpts opts);
  asio::awaitable<std::vector<ProcessInfo>> pids();
  asio::awaitable<void> pause();
  asio::awaitable<void> resume();
  asio::awaitable<void> update(std::string resources);
  asio::awaitable<void> checkpoint(std::string imagePath, bool exit);
  asio::awaitable<void> resizePty(std::string execId, ConsoleSize size);
  asio::awaitable<void> closeIO(std::string execId);
  asio::awaitable<Metrics> stats();
  asio::awaitable<void> shutdown(bool now, ms deadline = ms{5000});

 private:
  ShimClient(std::unique_ptr<RpcConnection> connection, std::string label);

  template <typename T>
  kj::Promise<T> namingLoss(kj::Promise<T> promise, const char* what);
  // The connection is gone: marks it so and runs onDisconnect's callback, once.
  // From the loop (a posted handler, or a call's caller that saw the loss,
  // which may see it before the connection's own notice arrives).
  void noteDisconnected();
  template <typename T>
  asio::awaitable<T> finish(kj::Promise<T> promise, const char* what, ms deadline);
  asio::awaitable<void> finishVoid(kj::Promise<void> promise, const char* what, ms deadline);
  std::string timeoutMessage(const char* what, ms deadline) const;

  std::unique_ptr<RpcConnection> connection_;
  wire::Shim::Client shim_;
  std::string label_;
  bool connected_ = true;
  bool lost_ = false;  // a call failed as DISCONNECTED (namingLoss)
  std::function<void()> onDisconnect_;
  kj::Promise<void> watch_ = nullptr;  // declared last: dropped first
};

}  // namespace berth
