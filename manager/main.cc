// berthd: the berth manager daemon (contract/CLI.md). Foreground, logs to stderr.
#include "common/asio.h"
#include "common/errors.h"
#include "common/fsutil.h"
#include "common/kj_loop.h"
#include "common/log.h"
#include "common/reaper.h"
#include "common/rpc.h"
#include "manager/api_service.h"
#include "manager/dir_claim.h"
#include "manager/event_exchange.h"
#include "manager/monitor.h"
#include "manager/recovery.h"
#include "manager/sd_notify.h"
#include "manager/shim_runtime.h"
#include "manager/task_list.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using namespace berth;

namespace {

constexpr const char* kVersion = "0.1.0";

// berth-shim beside berthd: first beside the path we were started as (so
// build/berthd, a symlink, finds build/berth-shim), then beside the binary.
std::string defaultShim(const char* argv0) {
  std::string a0 = argv0 ? argv0 : "";
  if (a0.find('/') != std::string::npos) {
    fs::path beside = fs::absolute(fs::path(a0)).parent_path() / "berth-shim";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path beside = exe.parent_path() / "berth-shim";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  return "berth-shim";
}

// NAME looked up in PATH (as the shell would); NAME itself if not found.
std::string lookPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return fs::absolute(name);
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return name;
}

// The runtime's SELinux domain comes from its file's label at exec, which a
// memfd copy has not.
bool selinuxEnforcing() {
  try {
    auto enforce = readFile("/sys/fs/selinux/enforce");
    return enforce && !enforce->empty() && (*enforce)[0] == '1';
  } catch (const std::exception&) {
    return true;  // cannot tell: rather no copy than a runtime in the wrong domain
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berthd: the berth manager daemon"};
  std::string root = "/var/lib/berth";
  std::string state = "/run/berth";
  std::string address = "/run/berth/berthd.sock";
  std::string runtimePath = "runc";
  std::string shimPath;
  std::string logLevel = "info";
  std::string cgroupParent = "/berth";
  size_t subscriberQueue = EventExchange::kQueueLimit;
  bool noRuntimeCopy = false;
  app.add_option("--root", root, "persistent state: task records, event journal");
  app.add_option("--state", state, "runtime state: shim sockets, runc state");
  app.add_option("--address", address, "the client API socket");
  app.add_option("--runtime", runtimePath, "the OCI runtime binary (runc from PATH by default)");
  app.add_option("--shim", shimPath, "the berth-shim binary (beside berthd by default)");
  app.add_option("--log-level", logLevel, "debug, info, warn or error");
  app.add_option("--cgroup-parent", cgroupParent,
                 "cgroup of tasks whose spec names none: PARENT/NAMESPACE/ID");
  app.add_option("--subscriber-queue", subscriberQueue,
                 "events an event subscriber may fall behind before it is dropped (for tests)");
  // Show the defaults in --help (the contract's paths).
  for (auto* option : app.get_options()) option->capture_default_str();
  app.add_flag("--no-runtime-copy", noRuntimeCopy,
               "shims run the runtime from its path, not from berthd's sealed copy of it "
               "(docs/wire.md; also the case under an enforcing SELinux, whose exec transition "
               "needs the path)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; a usage error exits 2, as berthctl's do.
    return app.exit(e) == 0 ? 0 : 2;
  }

  setLogName("berthd");
  try {
    setLogLevel(logLevel);
  } catch (const Error& e) {
    std::fprintf(stderr, "berthd: %s\n", e.what());
    return 2;
  }
  // (before any child is started: see sd_notify.h)
  const SdNotify systemd = SdNotify::fromEnvironment();
  // Writes to a peer that went away fail with EPIPE instead of killing us.
  ::signal(SIGPIPE, SIG_IGN);
  // A file size limit (RLIMIT_FSIZE) fails the write with EFBIG, as a full
  // disk would with ENOSPC; it must not end berthd. (Shims and runc get the
  // default back: spawn resets every signal.)
  ::signal(SIGXFSZ, SIG_IGN);
  // One connection (fd) per task: the usual soft limit of 1024 would stop us
  // near a thousand tasks, so take what the hard limit allows.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }

  try {
    root = fs::absolute(root);
    state = fs::absolute(state);
    address = fs::absolute(address);
    if (shimPath.empty()) shimPath = defaultShim(argv[0]);
    shimPath = lookPath(shimPath);
    runtimePath = lookPath(runtimePath);
    DirClaim claim(root, state);  // makes them; before anything in them is read or written
    makeDirs(fs::path(address).parent_path(), 0700);

    asio::io_context io;
    KjLoop loop(io);
    Reaper reaper(io);

    EventExchange events(root + "/events.log", subscriberQueue);
    events.load();
    TaskList tasks;
    LoggingMonitor monitor;
    std::shared_ptr<RuntimeCopy> runtimeCopy;
    if (noRuntimeCopy || selinuxEnforcing()) {
      BERTH_LOG(info) << "shims run the runtime from its path"
                      << (noRuntimeCopy ? " (--no-runtime-copy)" : " (SELinux enforcing)");
    } else {
      runtimeCopy = std::make_shared<RuntimeCopy>(runtimePath);
      runtimeCopy->current();  // now, not in the first create's time on the loop
    }
    RuntimeConfig config{root, state, ShimCommand{shimPath, runtimePath, state, logLevel, cgroupParent,
                                                  runtimeCopy}};
    ShimRuntime runtime(config, reaper, tasks, events, monitor);
    Recovery recovery(runtime);
    // Tasks are listed (loading) before the socket opens; they reconnect once the loop runs.
    recovery.start();

    RpcListener listener(loop, address, [&]() -> capnp::Capability::Client {
      return kj::heap<ApiService>(runtime, events, std::string("berthd ") + kVersion);
    });
    BERTH_LOG(info) << "berthd " << kVersion << " ready on " << address << " (root " << root
                    << ", state " << state << ", runtime " << runtimePath << ", shim " << shimPath
                    << ")";
    systemd.send("READY=1");

    asio::signal_set stop(io, SIGTERM, SIGINT);
    stop.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      BERTH_LOG(info) << "signal " << sig << ": stopping; every task keeps running";
      systemd.send("STOPPING=1");
      listener.close();
      if (size_t n = events.unjournaled()) {
        // Their tasks' records do not say they went out: the next berthd publishes them.
        BERTH_LOG(error) << n << " of berthd's own events could not be journaled; the next start publishes them";
      }
      events.closeAll("berthd is stopping");
      io.stop();
    });
    io.run();
    // Every shim and container keeps running: they are not our children. Skip
    // the orderly teardown of RPC state still in flight (a shim call, a
    // subscriber): process exit closes every connection.
    std::fflush(stderr);
    std::_Exit(0);
  } catch (const std::exception& e) {
    BERTH_LOG(error) << e.what();
    return 1;
  }
}
