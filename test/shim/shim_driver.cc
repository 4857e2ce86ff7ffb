// A test client for one berth-shim: calls one Shim RPC through the real
// socket and prints the answer on one line, so shell tests can drive a shim
// without berthd. Errors: "error: CODE: message" on stderr, exit 1.
//
//   shim_driver SOCK create ID [STDIN STDOUT STDERR [tty]] -> pid
//   shim_driver SOCK start [EID]                         -> pid
//   shim_driver SOCK state [EID]                         -> STATUS PID EXIT_STATUS
//   shim_driver SOCK kill SIG [EID] [all]
//   shim_driver SOCK wait [EID]                          -> EXIT_STATUS
//   shim_driver SOCK delete [EID]                        -> EXIT_STATUS
//   shim_driver SOCK delete-seq [EID]                    -> EXIT_STATUS LAST_SEQ
//   shim_driver SOCK exec EID SPECJSON [STDIN STDOUT STDERR [tty]]
//   shim_driver SOCK resize W H [EID]
//   shim_driver SOCK checkpoint IMAGE_DIR [exit]
//   shim_driver SOCK pids                                -> PID:INFO ...
//   shim_driver SOCK closeio [EID]
//   shim_driver SOCK pause | resume | connect | shutdown [now]
//   shim_driver SOCK stats                               -> key=value ...
//   shim_driver SOCK update RESOURCES_JSON
//   shim_driver SOCK bench-state COUNT                   -> COUNT state calls on one connection
//   shim_driver SOCK events AFTER COUNT TIMEOUT_MS       -> one line per event
#include "common/asio.h"
#include "common/errors.h"
#include "common/kj_loop.h"
#include "common/rpc.h"
#include "common/wire_status.h"
#include "shim.capnp.h"

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

using namespace berth;
using wire::Shim;

namespace {

uint32_t exitStatus(wire::ExitStatus::Reader s) { return contractExitStatus(s); }

const char* statusName(wire::Status s) { return statusWord(s).data(); }

std::string describe(wire::Event::Reader e) {
  auto p = e.getPayload();
  std::string s = std::to_string(e.getSeq()) + " ";
  switch (p.which()) {
    case wire::Event::Payload::CREATE: return s + "create pid=" + std::to_string(p.getCreate().getPid());
    case wire::Event::Payload::START: return s + "start pid=" + std::to_string(p.getStart().getPid());
    case wire::Event::Payload::EXIT:
      return s + "exit id=" + p.getExit().getId().cStr() +
             " status=" + std::to_string(exitStatus(p.getExit().getStatus()));
    case wire::Event::Payload::OOM: return s + "oom";
    case wire::Event::Payload::DELETE:
      return s + "delete status=" + std::to_string(exitStatus(p.getDelete().getStatus()));
    case wire::Event::Payload::EXEC_ADDED: return s + "exec-added id=" + p.getExecAdded().getExecId().cStr();
    case wire::Event::Payload::EXEC_STARTED:
      return s + "exec-started id=" + p.getExecStarted().getExecId().cStr();
    case wire::Event::Payload::PAUSED: return s + "paused";
    case wire::Event::Payload::RESUMED: return s + "resumed";
    case wire::Event::Payload::CHECKPOINTED: return s + "checkpointed";
  }
  return s + "?";
}

class PrintingSink final : public wire::EventSink::Server {
 public:
  explicit PrintingSink(int& count) : count_(count) {}
  kj::Promise<void> publish(PublishContext ctx) override {
    std::printf("%s\n", describe(ctx.getParams().getEvent()).c_str());
    std::fflush(stdout);
    ++count_;
    return kj::READY_NOW;
  }
 private:
  int& count_;
};

// STDIN STDOUT STDERR [tty] from position `from`.
void setIo(wire::IO::Builder io, const std::vector<std::string>& a, size_t from) {
  if (a.size() > from + 2) {
    io.setStdin(a[from]);
    io.setStdout(a[from + 1]);
    io.setStderr(a[from + 2]);
  }
  io.setTerminal(a.size() > from + 3 && a[from + 3] == "tty");
}

std::string arg(const std::vector<std::string>& a, size_t i) { return i < a.size() ? a[i] : ""; }

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() < 2) {
    std::fprintf(stderr, "usage: shim_driver SOCK COMMAND ...\n");
    return 2;
  }
  asio::io_context io;
  KjLoop loop(io);
  auto& ws = loop.waitScope();
  try {
    auto conn = connectRpc(io, a[0]);
    auto shim = conn->peer<Shim>();
    const std::string& cmd = a[1];
    if (cmd == "create") {
      auto req = shim.createRequest();
      req.setId(arg(a, 2));
      setIo(req.getOpts().initIo(), a, 3);
      std::printf("%u\n", req.send().wait(ws).getPid());
    } else if (cmd == "start") {
      auto req = shim.startRequest();
      req.setExecId(arg(a, 2));
      std::printf("%u\n", req.send().wait(ws).getPid());
    } else if (cmd == "state") {
      auto req = shim.stateRequest();
      req.setExecId(arg(a, 2));
      auto s = req.send().wait(ws).getState();
      std::printf("%s %u %u\n", statusName(s.getStatus()), s.getPid(),
                  exitStatus(s.getExit().getStatus()));
    } else if (cmd == "kill") {
      auto req = shim.killRequest();
      req.setSignal(static_cast<uint32_t>(std::stoul(arg(a, 2))));
      req.setExecId(arg(a, 3));
      req.setAll(arg(a, 4) == "all");
      req.send().wait(ws);
    } else if (cmd == "wait") {
      auto req = shim.waitRequest();
      req.setExecId(arg(a, 2));
      std::printf("%u\n", exitStatus(req.send().wait(ws).getExit().getStatus()));
    } else if (cmd == "delete" || cmd == "delete-seq") {
      auto req = shim.deleteRequest();
      req.setExecId(arg(a, 2));
      auto r = req.send().wait(ws);
      if (cmd == "delete") {
        std::printf("%u\n", exitStatus(r.getExit().getStatus()));
      } else {
        std::printf("%u %llu\n", exitStatus(r.getExit().getStatus()),
                    static_cast<unsigned long long>(r.getLastSeq()));
      }
    } else if (cmd == "exec") {
      auto req = shim.execRequest();
      req.setExecId(arg(a, 2));
      auto spec = arg(a, 3);
      req.getOpts().setSpec(kj::arrayPtr(reinterpret_cast<const kj::byte*>(spec.data()), spec.size()));
      setIo(req.getOpts().initIo(), a, 4);
      req.send().wait(ws);
    } else if (cmd == "pids") {
      auto r = shim.pidsRequest().send().wait(ws);
      for (auto p : r.getProcesses()) std::printf("%u:%s ", p.getPid(), p.getInfo().cStr());
      std::printf("\n");
    } else if (cmd == "closeio") {
      auto req = shim.closeIORequest();
      req.setExecId(arg(a, 2));
      req.send().wait(ws);
    } else if (cmd == "pause") {
      shim.pauseRequest().send().wait(ws);
    } else if (cmd == "resume") {
      shim.resumeRequest().send().wait(ws);
    } else if (cmd == "resize") {
      auto req = shim.resizePtyRequest();
      req.getSize().setWidth(static_cast<uint32_t>(std::stoul(arg(a, 2))));
      req.getSize().setHeight(static_cast<uint32_t>(std::stoul(arg(a, 3))));
      req.setExecId(arg(a, 4));
      req.send().wait(ws);
    } else if (cmd == "checkpoint") {
      auto req = shim.checkpointRequest();
      req.setImagePath(arg(a, 2));
      req.setExit(arg(a, 3) == "exit");
      req.send().wait(ws);
    } else if (cmd == "stats") {
      auto m = shim.statsRequest().send().wait(ws).getMetrics();
      std::printf("memory.usage=%llu memory.limit=%llu memory.max_usage=%llu memory.oom_kills=%llu "
                  "cpu.usage_ns=%llu pids.current=%llu pids.limit=%llu\n",
                  (unsigned long long)m.getMemory().getUsage(), (unsigned long long)m.getMemory().getLimit(),
                  (unsigned long long)m.getMemory().getMaxUsage(), (unsigned long long)m.getMemory().getOomKills(),
                  (unsigned long long)m.getCpu().getUsageNs(), (unsigned long long)m.getPids().getCurrent(),
                  (unsigned long long)m.getPids().getLimit());
    } else if (cmd == "update") {
      auto req = shim.updateRequest();
      auto text = arg(a, 2);
      req.setResources(kj::arrayPtr(reinterpret_cast<const kj::byte*>(text.data()), text.size()));
      req.send().wait(ws);
    } else if (cmd == "bench-state") {
      // COUNT state calls on one connection (bench/shim-memory's 10,000 RPCs).
      int count = std::stoi(arg(a, 2));
      for (int i = 0; i < count; ++i) shim.stateRequest().send().wait(ws);
      std::printf("%d\n", count);
    } else if (cmd == "connect") {
      auto r = shim.connectRequest().send().wait(ws);
      std::printf("%u %u %s %llu\n", r.getShimPid(), r.getTaskPid(), r.getVersion().cStr(),
                  static_cast<unsigned long long>(r.getLastSeq()));
    } else if (cmd == "shutdown") {
      auto req = shim.shutdownRequest();
      req.setNow(arg(a, 2) == "now");
      // The shim exits right after replying: a lost connection means it went.
      req.send().ignoreResult().catch_([](kj::Exception&& e) {
        if (e.getType() != kj::Exception::Type::DISCONNECTED) throw kj::mv(e);
      }).wait(ws);
    } else if (cmd == "events") {
      int count = 0;
      int want = std::stoi(arg(a, 3));
      auto req = shim.subscribeRequest();
      req.setSink(kj::heap<PrintingSink>(count));
      req.setAfterSeq(std::stoull(arg(a, 2)));
      req.send().wait(ws);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::stoi(arg(a, 4)));
      while (count < want && std::chrono::steady_clock::now() < deadline) {
        io.run_for(std::chrono::milliseconds(10));
        io.restart();
      }
      return count >= want ? 0 : 4;
    } else {
      std::fprintf(stderr, "unknown command %s\n", cmd.c_str());
      return 2;
    }
    return 0;
  } catch (kj::Exception& e) {
    std::fprintf(stderr, "error: %s\n", fromKjException(e).what());
    return 1;
  } catch (std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
