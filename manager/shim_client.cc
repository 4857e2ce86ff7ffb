#include "manager/shim_client.h"

#include "common/errors.h"
#include "common/kj_await.h"
#include "common/kj_loop.h"
#include "common/log.h"
#include "common/spawn.h"
#include "common/timeutil.h"
#include "manager/deadline.h"
#include "manager/wire_convert.h"

#include <signal.h>

#include <nlohmann/json.hpp>

namespace berth {

namespace {

std::vector<std::string> shimArgv(const ShimCommand& cmd, const char* mode, const std::string& ns,
                                  const std::string& id, const std::string& bundle) {
  return {cmd.shimPath,   mode,          "--namespace",     ns,
          "--id",          id,            "--bundle",        bundle,
          "--state-dir",   cmd.stateRoot, "--runtime",       cmd.runtimePath,
          "--cgroup-parent", cmd.cgroupParent};
}

std::string lastLine(const std::string& out) {
  size_t end = out.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return {};
  size_t begin = out.find_last_of('\n', end);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return out.substr(begin, end + 1 - begin);
}

std::string seconds(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

}  // namespace

asio::awaitable<std::string> ShimClient::startShim(Reaper& reaper, const ShimCommand& cmd,
                                                   const std::string& ns, const std::string& id,
                                                   const std::string& bundle) {
  SpawnOptions opts;
  opts.argv = shimArgv(cmd, "start", ns, id, bundle);
  // berthd's child from the start, in a session of its own: no daemonizing
  // fork (see shim/daemonize.h). It outlives berthd all the same.
  opts.argv.push_back("--no-fork");
  opts.newSession = true;
  if (!cmd.logLevel.empty()) {
    opts.argv.push_back("--log-level");
    opts.argv.push_back(cmd.logLevel);
  }
  opts.stderrFd = 2;  // its complaints before it is up land in berthd's log
  if (const SealedCopy* copy = cmd.runtimeCopy ? cmd.runtimeCopy->current() : nullptr) {
    opts.extraFds.push_back(copy->fd);  // fd 3 in the shim
    opts.argv.insert(opts.argv.end(), {"--runtime-fd", "3", "--runtime-stamp", copy->stamp});
  }
  constexpr std::chrono::milliseconds kStartDeadline{10000};
  // Its exit, whenever it comes, is only reaped here: ShimPid notices it.
  StartedProcess r = co_await startUntilLine(reaper, opts, kStartDeadline);
  std::string what = "berth-shim start for " + ns + "/" + id;
  if (r.timedOut) throw unavailable(what + " did not come up within " + seconds(kStartDeadline));
  if (r.line.empty()) throw internal(what + " failed: " + describeWaitStatus(r.waitStatus));
  co_return r.line;
}

asio::awaitable<Exit> ShimClient::cleanupShim(Reaper& reaper, const ShimCommand& cmd,
                                              const std::string& ns, const std::string& id,
                                              const std::string& bundle) {
  SpawnOptions opts;
  // `delete` does not read the bundle, but wants an absolute path: a record
  // without one (mangled, older) must not make the clean-up refuse to run.
  opts.argv = shimArgv(cmd, "delete", ns, id, bundle.starts_with('/') ? bundle : "/");
  opts.stderrFd = 2;
  // Ends with us: if we die meanwhile, our successor cleans up the task
  // itself, and this one, run on, could remove what a new task of the same
  // id made since (rec-stale-delete).
  opts.dieWithUs = true;
  Exit fallback{0, ExitStatus::signaled(SIGKILL), nowNs()};
  CommandResult r;
  try {
    r = co_await runCommand(reaper, opts, kLong, true);
  } catch (const Error& e) {
    // It could not be run at all (the binary gone or replaced, no fds, no
    // pids). Its callers go on as if it had found nothing: an undone create,
    // a lost shim's task and an orphan must not stay half-removed, their id
    // taken until berthd restarts. What a shim may have left is for the
    // next recovery's orphan clean-up.
    BERTH_LOG(error) << "cannot run berth-shim delete for " << ns << "/" << id << ": " << e.what();
    co_return fallback;
  }
  if (!r.ok()) {
    BERTH_LOG(warn) << "berth-shim delete for " << ns << "/" << id << " failed: "
                    << (r.timedOut ? std::string("timed out") : describeWaitStatus(r.waitStatus));
    // It may still have printed the exit before it failed or hung.
    if (lastLine(r.out).empty() || lastLine(r.out)[0] != '{') co_return fallback;
  }
  try {
    auto j = nlohmann::json::parse(lastLine(r.out));
    Exit e;
    e.pid = j.value("pid", 0u);
    e.status = ExitStatus::fromWaitStatus(j.value("wait_status", static_cast<int>(SIGKILL)));
    e.exitedAtNs = j.value("exited_at_ns", int64_t{0});
    if (e.exitedAtNs == 0) e.exitedAtNs = fallback.exitedAtNs;
    co_return e;
  } catch (const nlohmann::json::exception& e) {
    BERTH_LOG(warn) << "berth-shim delete for " << ns << "/" << id << " printed \"" << r.out
                    << "\": " << e.what();
    co_return fallback;
  }
}

std::shared_ptr<ShimClient> ShimClient::connect(const std::string& socketPath, std::string label) {
  auto& io = KjLoop::current().io();
  auto connection = connectRpc(io, socketPath);
  // Destroyed from a fresh Asio handler, never inside a KJ turn that belongs
  // to the connection being torn down.
  std::shared_ptr<ShimClient> client(new ShimClient(std::move(connection), std::move(label)),
                                     [&io](ShimClient* c) { asio::post(io, [c]() { delete c; }); });
  std::weak_ptr<ShimClient> weak = client;
  client->watch_ = client->connection_->onDisconnect()
                       .catch_([](kj::Exception&&) {})
                       .then([weak, &io]() {
                         asio::post(io, [weak]() {
                           if (auto self = weak.lock()) self->noteDisconnected();
                         });
                       })
                       .eagerlyEvaluate(nullptr);
  return client;
}

ShimClient::ShimClient(std::unique_ptr<RpcConnection> connection, std::string label)
    : connection_(std::move(connection)),
      shim_(connection_->peer<wire::Shim>()),
      label_(std::move(label)) {}

ShimClient::~ShimClient() = default;

void ShimClient::noteDisconnected() {
  if (!connected_) return;
  connected_ = false;
  BERTH_LOG(debug) << label_ << ": connection closed";
  if (auto cb = std::move(onDisconnect_)) cb();
}

std::string ShimClient::timeoutMessage(const char* what, ms deadline) const {
  return label_ + " did not answer within " + seconds(deadline) + " (" + what + ")";
}

// A lost connection names the shim and the call ("connection lost: shim for
// NS/ID went away during delete: …"); other errors are the shim's own. It
// also marks the loss (lost_), for finish to report once it resumes.
template <typename T>
kj::Promise<T> ShimClient::namingLoss(kj::Promise<T> promise, const char* what) {
  return promise.catch_([this, what](kj::Exception&& e) -> kj::Promise<T> {
    if (e.getType() != kj::Exception::Type::DISCONNECTED) return kj::mv(e);
    lost_ = true;
    return kj::Exception(e.getType(), __FILE__, __LINE__,
                         kj::str(label_, " went away during ", what, ": ", e.getDescription()));
  });
}

template <typename T>
asio::awaitable<T> ShimClient::finish(kj::Promise<T> promise, const char* what, ms deadline) {
  auto self = shared_from_this();  // (for the catch below too)
  promise = namingLoss(kj::mv(promise), what);
  if (deadline.count() > 0) promise = withDeadline(kj::mv(promise), deadline, timeoutMessage(what, deadline));
  try {
    co_return co_await awaitKj(promise.attach(std::shared_ptr<ShimClient>(self)));
  } catch (...) {
    // The call saw the loss before the connection's own notice came: the
    // caller (a wait that retries once recovery has settled) must find
    // the client disconnected already.
    if (lost_) noteDisconnected();
    throw;
  }
}

asio::awaitable<void> ShimClient::finishVoid(kj::Promise<void> promise, const char* what,
                                             ms deadline) {
  co_await finish<void>(kj::mv(promise), what, deadline);
}

asio::awaitable<ShimHello> ShimClient::hello(ms deadline) {
  auto p = shim_.connectRequest().send().then([](capnp::Response<wire::ConnectResponse>&& r) {
    return ShimHello{r.getShimPid(), r.getTaskPid(), textOf(r.getVersion()), r.getLastSeq()};
  });
  co_return co_await finish(kj::mv(p), "connect", deadline);
}

kj::Promise<uint64_t> ShimClient::sendHelloAndSubscribe(wire::EventSink::Client sink, uint64_t afterSeq) {
  auto hello = shim_.connectRequest().send().ignoreResult();
  auto req = shim_.subscribeRequest();
  req.setSink(kj::mv(sink));
  req.setAfterSeq(afterSeq);
  auto subscribed = req.send().then([](capnp::Response<wire::SubscribeResponse>&& r) { return r.getLastSeq(); });
  // Both calls are on the wire now; a failed hello is the one reported.
  return hello.then([subscribed = kj::mv(subscribed)]() mutable { return kj::mv(subscribed); });
}

asio::awaitable<uint64_t> ShimClient::answerSubscribe(kj::Promise<uint64_t> sent, ms deadline) {
  co_return co_await finish<uint64_t>(kj::mv(sent), "connect and subscribe", deadline);
}

kj::Promise<uint32_t> ShimClient::sendCreate(const std::string& id, const CreateOpts& opts) {
  auto req = shim_.createRequest();
  req.setId(id);
  toWire(opts, req.initOpts());
  return req.send().then([](capnp::Response<wire::CreateResponse>&& r) { return r.getPid(); });
}

kj::Promise<uint32_t> ShimClient::sendStart(const std::string& execId) {
  auto req = shim_.startRequest();
  req.setExecId(execId);
  return req.send().then([](capnp::Response<wire::StartResponse>&& r) { return r.getPid(); });
}

asio::awaitable<uint32_t> ShimClient::answer(kj::Promise<uint32_t> sent, const char* what) {
  co_return co_await finish<uint32_t>(kj::mv(sent), what, kRunc);
}

asio::awaitable<uint32_t> ShimClient::start(std::string execId) {
  co_return co_await answer(sendStart(execId), "start");
}

asio::awaitable<State> ShimClient::state(std::string execId, ms deadline) {
  auto req = shim_.stateRequest();
  req.setExecId(execId);
  auto p = req.send().then([](capnp::Response<wire::StateResponse>&& r) { return fromWire(r.getState()); });
  co_return co_await finish<State>(kj::mv(p), "state", deadline);
}

asio::awaitable<void> ShimClient::kill(std::string execId, uint32_t signal, bool all) {
  auto req = shim_.killRequest();
  req.setExecId(execId);
  req.setSignal(signal);
  req.setAll(all);
  co_await finishVoid(req.send().ignoreResult(), "kill", kDefault);
}

asio::awaitable<Exit> ShimClient::wait(std::string execId, std::shared_ptr<CallCancel> cancel) {
  auto req = shim_.waitRequest();
  req.setExecId(execId);
  auto p = req.send().then([](capnp::Response<wire::WaitResponse>&& r) { return fromWire(r.getExit()); });
  if (cancel) p = cancel->orCancelled(kj::mv(p));  // (dropped: capnp tells the shim)
  co_return co_await finish<Exit>(kj::mv(p), "wait", ms{0});
}

asio::awaitable<Exit> ShimClient::remove(std::string execId, ms deadline, uint64_t* lastSeq) {
  auto req = shim_.deleteRequest();
  req.setExecId(execId);
  auto p = req.send().then([lastSeq](capnp::Response<wire::DeleteResponse>&& r) {
    if (lastSeq) *lastSeq = r.getLastSeq();
    return fromWire(r.getExit());
  });
  co_return co_await finish<Exit>(kj::mv(p), "delete", deadline);
}

asio::awaitable<void> ShimClient::exec(std::string execId, ExecOpts opts) {
  auto req = shim_.execRequest();
  req.setExecId(execId);
  toWire(opts, req.initOpts());
  co_await finishVoid(req.send().ignoreResult(), "exec", kDefault);
}

asio::awaitable<std::vector<ProcessInfo>> ShimClient::pids() {
  auto p = shim_.pidsRequest().send().then([](capnp::Response<wire::PidsResponse>&& r) {
    std::vector<ProcessInfo> out;
    for (auto info : r.getProcesses()) out.push_back(fromWire(info));
    return out;
  });
  // (longer than the shim's 15 s for `runc ps`: the shim's error is the one to give)
  co_return co_await finish<std::vector<ProcessInfo>>(kj::mv(p), "pids", kLong);
}

asio::awaitable<void> ShimClient::pause() {
  co_await finishVoid(shim_.pauseRequest().send().ignoreResult(), "pause", kLong);
}

asio::awaitable<void> ShimClient::resume() {
  co_await finishVoid(shim_.resumeRequest().send().ignoreResult(), "resume", kLong);
}

asio::awaitable<void> ShimClient::update(std::string resources) {
  auto req = shim_.updateRequest();
  req.setResources(dataOf(resources));
  co_await finishVoid(req.send().ignoreResult(), "update", kLong);
}

asio::awaitable<void> ShimClient::checkpoint(std::string imagePath, bool exit) {
  auto req = shim_.checkpointRequest();
  req.setImagePath(imagePath);
  req.setExit(exit);
  co_await finishVoid(req.send().ignoreResult(), "checkpoint", kCheckpoint);
}

asio::awaitable<void> ShimClient::resizePty(std::string execId, ConsoleSize size) {
  auto req = shim_.resizePtyRequest();
  req.setExecId(execId);
  toWire(size, req.initSize());
  co_await finishVoid(req.send().ignoreResult(), "resize-pty", kDefault);
}

asio::awaitable<void> ShimClient::closeIO(std::string execId) {
  auto req = shim_.closeIORequest();
  req.setExecId(execId);
  co_await finishVoid(req.send().ignoreResult(), "close-io", kDefault);
}

asio::awaitable<Metrics> ShimClient::stats() {
  auto p = shim_.statsRequest().send().then(
      [](capnp::Response<wire::StatsResponse>&& r) { return fromWire(r.getMetrics()); });
  co_return co_await finish<Metrics>(kj::mv(p), "stats", kDefault);
}

asio::awaitable<void> ShimClient::shutdown(bool now, ms deadline) {
  auto req = shim_.shutdownRequest();
  req.setNow(now);
  // The shim exits as soon as its reply is written; our own last messages
  // (a Finish) can then meet a closed socket before that reply is read. A
  // refusal still arrives as an error; a lost connection means it went.
  auto p = req.send().ignoreResult().catch_([](kj::Exception&& e) {
    if (e.getType() != kj::Exception::Type::DISCONNECTED) throw kj::mv(e);
  });
  co_await finishVoid(kj::mv(p), "shutdown", deadline);
}

}  // namespace berth
