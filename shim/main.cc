// berth-shim: one per task. `start` daemonizes and serves the task's Shim
// service; `delete` cleans up after a shim that is gone.
#include "common/asio.h"
#include "common/errors.h"
#include "common/fsutil.h"
#include "common/ids.h"
#include "common/kj_loop.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/sealed_copy.h"
#include "common/spawn.h"
#include "common/timeutil.h"
#include "common/unix_socket.h"
#include "shim/daemonize.h"
#include "shim/rootfs_mounts.h"
#include "shim/service.h"
#include "shim/task.h"

#include <CLI/CLI.hpp>

#include <malloc.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>
#include <vector>

using namespace berth;
using namespace berth::shim;

namespace {

struct Args {
  std::string ns, id, bundle, stateDir, runtime = "runc", logLevel = "info";
  std::string cgroupParent = "/berth";
  bool noFork = false;  // start: see daemonize()
  int runtimeFd = -1;   // start: berthd's sealed copy of the runtime (common/sealed_copy.h)
  std::string runtimeStamp;
  int unclaimedExitSeconds = 30;  // start: see serve()
};

TaskConfig configFrom(const Args& a) {
  checkNamespace(a.ns);
  checkIdentifier("id", a.id);
  if (a.bundle.empty() || a.bundle[0] != '/') {
    throw invalidArgument("bundle path must be absolute: \"" + a.bundle + "\"");
  }
  if (a.stateDir.empty() || a.stateDir[0] != '/') {
    throw invalidArgument("state dir must be absolute: \"" + a.stateDir + "\"");
  }
  if (a.cgroupParent.empty() || a.cgroupParent[0] != '/' ||
      a.cgroupParent.find("..") != std::string::npos) {
    throw invalidArgument("cgroup parent must be an absolute path without \"..\": \"" +
                          a.cgroupParent + "\"");
  }
  return {a.ns, a.id, a.bundle, a.stateDir + "/" + a.ns + "/" + a.id, a.runtime,
          a.stateDir + "/runc/" + a.ns, a.cgroupParent, SealedCopy{a.runtimeFd, a.runtimeStamp}};
}

// A file's identity, to tell ours from one a successor made at the same path.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};
std::optional<FileId> fileIdOf(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// What a shim that nobody ever connected to leaves: nothing of its own. Only
// what is still ours goes: `berth-shim delete` (a rollback's) may have removed
// our files meanwhile, and a new shim for the same task made its own there.
void removeUnclaimed(const TaskConfig& config, const FileId& socket, const std::string& pidLine) {
  const std::string sock = config.stateDir + "/shim.sock", pidFile = config.stateDir + "/shim.pid";
  const std::string log = config.stateDir + "/log";
  if (fileIdOf(sock) == socket) ::unlink(sock.c_str());
  try {
    if (readFile(pidFile) == pidLine) ::unlink(pidFile.c_str());
  } catch (const std::exception&) {
  }
  struct stat err;
  if (::fstat(STDERR_FILENO, &err) == 0 && fileIdOf(log) == FileId{err.st_dev, err.st_ino}) {
    ::unlink(log.c_str());
  }
  ::rmdir(config.stateDir.c_str());  // only if nothing else is in it
}

int serve(const TaskConfig& config, int listenFd, const FileId& socketId, const ReadyNotice& ready,
          std::chrono::seconds unclaimedExit) {
  // The heap is trimmed after each call (ShimService::trimSoon), not by
  // free(): a trim inside the exit's path (the event message's free, right
  // after its send) held the CPU that the woken berthd had been placed on.
  ::mallopt(M_TRIM_THRESHOLD, 1 << 20);
  // A write into a pipe whose reader is gone (a process that closed its
  // stdin, or exited, while the stdin copy still had data) is the end of
  // that copy, not of the shim: SIGPIPE's default killed the shim, and
  // berthd then took the task for lost and killed the container. (Our
  // children get the default back: spawnProcess resets every signal.)
  ::signal(SIGPIPE, SIG_IGN);
  asio::io_context io;
  KjLoop loop(io);
  Reaper reaper(io, ReapTiming::Deferred);  // the exit's event before the reap: see reaper.h
  Task task(io, reaper, config);
  reaper.deferCountdown = [&task](std::function<void()> start) {
    return task.events().afterDelivered(std::move(start));
  };
  std::string sock = config.stateDir + "/shim.sock";
  // Exit files an earlier task of this id left (its state dir could not be
  // removed) are not this task's: `berth-shim delete` would report them.
  removeTree(config.stateDir + "/exit");
  const std::string pidLine = pidWithStartTime(::getpid()) + "\n";
  replaceFile(config.stateDir + "/shim.pid", pidLine, 0600);
  notifyReady(ready);
  bool exiting = false;
  auto requestExit = [&]() {
    if (exiting) return;
    exiting = true;
    // Stop once KJ has nothing left to run: the shutdown reply has been
    // written to the socket by then (a small reply never waits for room).
    // A client may then find the socket closed before it reads the reply:
    // for shutdown, a lost connection is the answer (see ShimClient).
    loop.detach(kj::evalLast([&io]() { asio::post(io, [&io]() { io.stop(); }); }), "exit");
  };
  RpcListener listener(loop, UnixAcceptor(io, asio::local::stream_protocol(), listenFd), sock,
                       [&]() -> capnp::Capability::Client {
                         return kj::heap<ShimService>(task, requestExit);
                       });
  // berthd reading an event must not wake the shim: see StreamOptions.
  listener.streamOptions.wakeOnPeerRead = false;
  // berthd connects at once to the shim it started. A shim nobody has
  // connected to was orphaned as it started: its berthd died, and the
  // restarted one's recovery ran before this shim had written shim.pid, so
  // it could neither find nor end it. It has no task (only a connection
  // creates one): it removes what it made and exits.
  bool unclaimed = false;
  asio::steady_timer claimTimer(io, unclaimedExit);
  listener.onConnect = [&claimTimer](RpcConnection&) { claimTimer.cancel(); };
  claimTimer.async_wait([&](const boost::system::error_code& ec) {
    if (ec || listener.connectionCount() > 0) return;
    BERTH_LOG(warn) << "nobody connected within " << unclaimedExit.count()
                    << " s of the start: an orphan of a berthd that died; exiting";
    unclaimed = true;
    io.stop();
  });
  BERTH_LOG(info) << "serving task " << config.ns << "/" << config.id << " on " << sock;
  io.run();
  if (unclaimed) {
    listener.close(/*removeSocket=*/false);
    removeUnclaimed(config, socketId, pidLine);
    return 0;
  }
  listener.close();
  ::unlink((config.stateDir + "/shim.pid").c_str());
  BERTH_LOG(info) << "shim for " << config.ns << "/" << config.id << " exits";
  return 0;
}

int start(Args args) {
  std::string noCopy;  // why --runtime-fd is not used, said in our log once it is open
  if (args.runtimeFd >= 0) {
    if (args.runtimeStamp.empty()) throw invalidArgument("--runtime-fd wants --runtime-stamp");
    // CLOEXEC: for our runc calls only (execFd)
    if (::fcntl(args.runtimeFd, F_SETFD, FD_CLOEXEC) != 0) {
      noCopy = std::string("fcntl: ") + std::strerror(errno);
    } else if (!usableCopy(args.runtimeFd, &noCopy)) {
      ::close(args.runtimeFd);
    }
    if (!noCopy.empty()) args.runtimeFd = -1;
  }
  TaskConfig config = configFrom(args);
  std::string sock = config.stateDir + "/shim.sock";
  makeDirs(config.stateDir, 0700);
  makeDirs(config.runcRoot, 0700);
  int fd;
  try {
    fd = listenUnixFd(sock);
  } catch (Error& e) {
    if (e.code() != Code::AlreadyExists) throw;
    // Idempotent: a shim already serves this task.
    std::printf("%s\n", sock.c_str());
    return 0;
  }
  // (before the daemonizing fork: a later one could be a successor's socket)
  std::optional<FileId> socketId = fileIdOf(sock);
  if (!socketId) throw systemError("stat " + sock, errno);
  std::vector<int> keep{fd};
  if (args.runtimeFd >= 0) keep.push_back(args.runtimeFd);
  ReadyNotice ready = daemonize(sock, config.stateDir + "/log", keep, !args.noFork);
  setLogName("berth-shim");
  if (!noCopy.empty()) {
    BERTH_LOG(warn) << "--runtime-fd is not a sealed copy to run (" << noCopy << "): running "
                    << args.runtime << " from its path";
  }
  try {
    return serve(config, fd, *socketId, ready, std::chrono::seconds(args.unclaimedExitSeconds));
  } catch (std::exception& e) {
    BERTH_LOG(error) << "shim failed: " << e.what();
    return 1;
  }
}

// After a shim died: force-delete the container, report the recorded exit
// (SIGKILL where none was recorded) and remove the task's state dir.
int cleanup(const Args& args) {
  TaskConfig config = configFrom(args);
  asio::io_context io;
  Reaper reaper(io);
  std::string runcLog = config.stateDir + "/runc-delete.log.json";
  bool deleted = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    SpawnOptions o;
    o.argv = {config.runtime, "--root", config.runcRoot, "delete", "--force", config.id};
    o.dieWithUs = true;  // as we end with berthd (manager/shim_client.cc)
    auto r = co_await runCommand(reaper, o, std::chrono::seconds(15));
    deleted = r.ok();
    io.stop();  // the reaper's SIGCHLD wait would keep run() going
  }, [&io](std::exception_ptr) { io.stop(); });
  io.run();
  // The exit file's three numbers, or SIGKILL now when it is missing, cannot
  // be read or is mangled: the clean-up below must run whatever it holds.
  uint32_t pid = 0;
  int status = 9;
  int64_t at = 0;
  try {
    if (auto text = readFile(config.stateDir + "/exit/init", 4096)) {
      std::istringstream in(*text);
      uint32_t p = 0;
      int s = 0;
      int64_t a = 0;
      if (in >> p >> s >> a) {
        pid = p, status = s, at = a;
      } else {
        std::fprintf(stderr, "berth-shim: the exit file of %s is mangled: \"%s\"\n", config.id.c_str(),
                     text->substr(0, 100).c_str());
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "berth-shim: the exit file of %s: %s\n", config.id.c_str(), e.what());
  }
  if (at == 0) at = nowNs();
  std::printf("{\"pid\":%u,\"wait_status\":%d,\"exited_at_ns\":%lld,\"runc_deleted\":%s}\n", pid, status,
              static_cast<long long>(at), deleted ? "true" : "false");
  try {
    unmountRootfs(config.stateDir + "/rootfs-mounts");
  } catch (std::exception& e) {
    std::fprintf(stderr, "berth-shim: unmounting the rootfs of %s: %s\n", config.id.c_str(), e.what());
  }
  removeTree(config.stateDir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  setLogName("berth-shim");
  CLI::App app{"berth-shim: one per task; owns the container's processes through runc"};
  app.require_subcommand(1);
  Args a;
  auto addCommon = [&a](CLI::App* c) {
    c->add_option("--namespace", a.ns, "task namespace")->required();
    c->add_option("--id", a.id, "task id")->required();
    c->add_option("--bundle", a.bundle, "OCI bundle directory (absolute)")->required();
    c->add_option("--state-dir", a.stateDir, "berthd's state dir (absolute)")->required();
    c->add_option("--runtime", a.runtime, "OCI runtime binary")->capture_default_str();
    c->add_option("--log-level", a.logLevel, "debug, info, warn, error")->capture_default_str();
    c->add_option("--cgroup-parent", a.cgroupParent,
                  "cgroup of a task whose spec names none: PARENT/NS/ID")->capture_default_str();
  };
  auto* startCmd = app.add_subcommand("start", "daemonize and serve the task");
  addCommon(startCmd);
  startCmd->add_flag("--no-fork", a.noFork,
                     "serve in this process (the caller made it a session leader and reads "
                     "the address from stdout without waiting for an exit)");
  startCmd->add_option("--unclaimed-exit", a.unclaimedExitSeconds,
                       "exit, removing the state dir, if nobody connects within SECONDS of the "
                       "start (an orphan of a berthd that died as it started the shim)")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  startCmd->add_option("--runtime-fd", a.runtimeFd,
                       "an inherited fd: a sealed memfd copy of --runtime to run it from while "
                       "the file at --runtime is unchanged (how berthd starts shims)")
      ->check(CLI::Range(3, 1 << 20));
  startCmd->add_option("--runtime-stamp", a.runtimeStamp,
                       "with --runtime-fd: the copied file's dev:ino:size:ctime");
  auto* deleteCmd = app.add_subcommand("delete", "clean up after a dead shim");
  addCommon(deleteCmd);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // the help (0), or the error and a pointer to --help
    return code == 0 ? 0 : 2;  // usage errors exit 2, as berthd's and berthctl's do
  }
  try {
    setLogLevel(a.logLevel);
    if (startCmd->parsed()) return start(a);
    return cleanup(a);
  } catch (Error& e) {
    std::fprintf(stderr, "berth-shim: %s\n", e.what());
    return 1;
  } catch (std::exception& e) {
    std::fprintf(stderr, "berth-shim: internal: %s\n", e.what());
    return 1;
  }
}
