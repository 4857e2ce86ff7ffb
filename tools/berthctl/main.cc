// berthctl: the command-line client of berthd (contract/CLI.md).
//
// Exit status: 0 on success; 1 on an error, with exactly one line
// "berthctl: CODE: message" on stderr; 2 on a usage error (with the help
// text); `run`/`exec` without -d exit with the process's exit status.
#include "tools/berthctl/commands.h"

#include "common/errors.h"
#include "common/log.h"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>

using namespace berthctl;

namespace {

constexpr const char* kDefaultAddress = "/run/berth/berthd.sock";

void printError(const std::string& text) {
  std::string line = "berthctl: " + text;
  for (char& ch : line)
    if (ch == '\n' || ch == '\r') ch = ' ';
  line += '\n';
  std::fflush(stdout);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

int runGuarded(const std::function<int()>& fn) {
  try {
    return fn();
  } catch (const berth::Error& e) {
    printError(e.what());
  } catch (const kj::Exception& e) {
    printError(berth::fromKjException(e).what());
  } catch (const std::exception& e) {
    printError(berth::internal(e.what()).what());
  } catch (...) {
    printError("internal: unknown error");
  }
  return 1;
}

// Digits only, and within the target's range: CLI11 2.1 would take "-1" for
// an unsigned option and wrap it, and overflow silently.
template <typename Unsigned>
CLI::Validator unsignedNumber() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
          return "not an unsigned number: " + s;
        }
        errno = 0;
        unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
        if (errno == ERANGE || v > std::numeric_limits<Unsigned>::max()) return "out of range: " + s;
        return {};
      },
      "");  // the option's type already reads UINT
}

// The subcommand a command line names, when it is the first word after the
// global options (--address, -n/--namespace, each with its value): the whole
// tree then needs only that one. Empty when anything else comes first (help,
// an unknown option, no subcommand): the full tree decides.
std::string namedSubcommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--address" || a == "--namespace" || a == "-n") {
      ++i;  // its value, whatever it looks like
    } else if (a.starts_with("--address=") || a.starts_with("--namespace=") ||
               (a.starts_with("-n") && a.size() > 2)) {
    } else if (a.starts_with("-")) {
      return {};
    } else {
      return std::string(a);
    }
  }
  return {};
}

// Why berthctl looks ahead: CLI11 builds every subcommand's options (each a
// few allocations and std::functions) before it parses. That was 70% of the
// instructions a `berthctl state` runs, and a new berthctl is run for every
// command. With `only`, only the subcommand named so is defined; a parse
// that then fails or asks for help returns nullopt, and the command line is
// parsed again with all of them: help texts and usage errors stay exactly
// those of the full tree. Otherwise: the exit status.
std::optional<int> parseAndRun(int argc, char** argv, const std::string& only) {
  CLI::App app{"berthctl: the client of berthd, the berth container manager", "berthctl"};
  app.fallthrough();
  app.require_subcommand(1);

  Globals g;
  g.address = kDefaultAddress;
  g.ns = "default";
  app.add_option("--address", g.address, "berthd's socket")->envname("BERTH_ADDRESS")->capture_default_str();
  app.add_option("-n,--namespace", g.ns, "namespace of the tasks")
      ->envname("BERTH_NAMESPACE")
      ->capture_default_str();

  std::map<CLI::App*, std::function<int()>> commands;
  // Whether to define the subcommand `name` (with its `alias`) this time.
  auto want = [&](std::string_view name, std::string_view alias = {}) {
    return only.empty() || only == name || (!alias.empty() && only == alias);
  };
  auto cmd = [&](const std::string& name, const std::string& help, std::function<int()> fn) {
    CLI::App* sub = app.add_subcommand(name, help);
    commands[sub] = std::move(fn);
    return sub;
  };

  CreateArgs create;
  if (want("create")) {
    auto* s = cmd("create", "create a task (its init process is created, not started)",
                  [&] { return cmdCreate(g, create); });
    s->add_option("--bundle", create.bundle, "OCI bundle directory")->required();
    s->add_option("--stdin", create.stdinPath, "stdin: a FIFO, a file, or empty for /dev/null");
    s->add_option("--stdout", create.stdoutPath, "stdout: a FIFO, a file (appended), or empty for /dev/null");
    s->add_option("--stderr", create.stderrPath, "stderr: a FIFO, a file (appended), or empty for /dev/null");
    s->add_flag("-t,--tty", create.tty, "give the process a terminal");
    s->add_option("--mount", create.mounts,
                  "rootfs mount: type=T,source=S,target=D,options=O1:O2 (repeatable; a path after "
                  "O=V continues it: lowerdir=/a:/b)")
        ->allow_extra_args(false);
    s->add_option("--checkpoint", create.checkpoint, "restore from this checkpoint image directory");
    s->add_option("ID", create.id, "task id")->required();
  }

  RunArgs run;
  if (want("run")) {
    auto* s = cmd("run", "create and start a task; without -d forward its output and exit with its status",
                  [&] { return cmdRun(g, run); });
    auto* rm = s->add_flag("--rm", run.rm, "delete the task after it exited");
    auto* d = s->add_flag("-d,--detach", run.detach, "do not wait: create, start and return");
    rm->excludes(d);
    s->add_flag("-t,--tty", run.tty, "give the process a terminal (forwards stdin)");
    s->add_option("--bundle", run.bundle, "OCI bundle directory")->required();
    s->add_option("ID", run.id, "task id")->required();
  }

  TaskArgs start;
  if (want("start")) {
    auto* s = cmd("start", "start the init process or an exec process", [&] { return cmdStart(g, start); });
    s->add_option("--exec-id", start.execId, "the exec process to start");
    s->add_option("ID", start.id, "task id")->required();
  }

  ExecArgs exec;
  if (want("exec")) {
    auto* s = cmd("exec", "add an exec process to a task and start it; without -d wait and exit with its status",
                  [&] { return cmdExec(g, exec); });
    s->add_option("--exec-id", exec.execId, "id of the new exec process")->required();
    s->add_flag("-t,--tty", exec.tty, "give the process a terminal (forwards stdin)");
    s->add_flag("-d,--detach", exec.detach, "do not wait: add, start and return");
    s->add_option("--cwd", exec.cwd, "working directory inside the container");
    s->add_option("-e,--env", exec.env, "environment variable K=V (repeatable)")->allow_extra_args(false);
    s->add_option("ID", exec.id, "task id")->required();
    s->add_option("CMD", exec.args, "command and its arguments (after --)")->required();
  }

  TaskArgs state;
  if (want("state")) {
    auto* s = cmd("state", "print the state of a task or exec process as JSON", [&] { return cmdState(g, state); });
    s->add_option("--exec-id", state.execId, "an exec process");
    s->add_option("ID", state.id, "task id")->required();
  }

  bool listJson = false;
  if (want("list", "ls")) {
    auto* s = cmd("list", "list the namespace's tasks", [&] { return cmdList(g, listJson); });
    s->alias("ls");
    s->add_flag("--json", listJson, "print a JSON array");
  }

  KillArgs kill;
  if (want("kill")) {
    auto* s = cmd("kill", "signal a task's init or exec process", [&] { return cmdKill(g, kill); });
    s->add_option("-s,--signal", kill.signal, "signal, by number or name (9, KILL, SIGKILL)")
        ->capture_default_str();
    s->add_flag("-a,--all", kill.all, "signal every process of the task");
    s->add_option("--exec-id", kill.execId, "an exec process");
    s->add_option("ID", kill.id, "task id")->required();
  }

  TaskArgs wait;
  if (want("wait")) {
    auto* s = cmd("wait", "wait until the process exits; print its exit as JSON", [&] { return cmdWait(g, wait); });
    s->add_option("--exec-id", wait.execId, "an exec process");
    s->add_option("ID", wait.id, "task id")->required();
  }

  TaskArgs del;
  if (want("delete", "rm")) {
    auto* s = cmd("delete", "delete a stopped or created task or exec process; print its exit as JSON",
                  [&] { return cmdDelete(g, del); });
    s->alias("rm");
    s->add_option("--exec-id", del.execId, "an exec process");
    s->add_option("ID", del.id, "task id")->required();
  }

  std::string pauseId, resumeId, pidsId, metricsId;
  if (want("pause"))
    cmd("pause", "freeze a task", [&] { return cmdPause(g, pauseId); })
      ->add_option("ID", pauseId, "task id")
      ->required();
  if (want("resume"))
    cmd("resume", "thaw a task", [&] { return cmdResume(g, resumeId); })
      ->add_option("ID", resumeId, "task id")
      ->required();
  if (want("pids"))
    cmd("pids", "list a task's processes as JSON", [&] { return cmdPids(g, pidsId); })
      ->add_option("ID", pidsId, "task id")
      ->required();

  UpdateArgs update;
  if (want("update")) {
    auto* s = cmd("update", "apply OCI LinuxResources (JSON) to a running task", [&] { return cmdUpdate(g, update); });
    s->add_option("--resources", update.resources, "file with the LinuxResources JSON")->required();
    s->add_option("ID", update.id, "task id")->required();
  }

  if (want("metrics"))
    cmd("metrics", "print a task's cgroup metrics as JSON", [&] { return cmdMetrics(g, metricsId); })
      ->add_option("ID", metricsId, "task id")
      ->required();

  CheckpointArgs checkpoint;
  if (want("checkpoint")) {
    auto* s = cmd("checkpoint", "checkpoint a task with criu", [&] { return cmdCheckpoint(g, checkpoint); });
    s->add_option("--image-path", checkpoint.imagePath, "directory for the checkpoint image")->required();
    s->add_flag("--exit", checkpoint.exit, "stop the task after the checkpoint");
    s->add_option("ID", checkpoint.id, "task id")->required();
  }

  ResizeArgs resize;
  if (want("resize")) {
    auto* s = cmd("resize", "resize a process's terminal", [&] { return cmdResize(g, resize); });
    s->add_option("--exec-id", resize.execId, "an exec process");
    // A pty's size is two 16-bit numbers (struct winsize).
    s->add_option("--width", resize.width, "columns")->required()->check(unsignedNumber<uint16_t>());
    s->add_option("--height", resize.height, "rows")->required()->check(unsignedNumber<uint16_t>());
    s->add_option("ID", resize.id, "task id")->required();
  }

  TaskArgs closeStdin;
  if (want("close-stdin")) {
    auto* s = cmd("close-stdin", "close a process's stdin", [&] { return cmdCloseStdin(g, closeStdin); });
    s->add_option("--exec-id", closeStdin.execId, "an exec process");
    s->add_option("ID", closeStdin.id, "task id")->required();
  }

  EventsArgs events;
  CLI::Option* sinceOpt = nullptr;
  if (want("events")) {
    auto* s = cmd("events", "stream events, one JSON object a line", [&] {
      events.hasSince = sinceOpt->count() > 0;
      return cmdEvents(g, events);
    });
    s->add_option("--topic", events.topic, "only topics starting with this prefix (e.g. /tasks/exit)");
    sinceOpt = s->add_option("--since", events.since, "first replay the retained events after this seq")
                   ->check(unsignedNumber<uint64_t>());
  }

  if (want("version")) cmd("version", "print the client's and berthd's versions as JSON", [&] { return cmdVersion(g); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (!only.empty()) return std::nullopt;
    if (dynamic_cast<const CLI::CallForHelp*>(&e) || dynamic_cast<const CLI::CallForAllHelp*>(&e) ||
        e.get_exit_code() == 0) {
      return app.exit(e);
    }
    std::string help;
    auto selected = app.get_subcommands();
    help = selected.empty() ? app.help() : selected.back()->help();
    std::fflush(stdout);
    std::cerr << "berthctl: " << e.what() << "\n" << help;
    std::cerr.flush();
    return 2;
  }

  for (auto& [sub, fn] : commands)
    if (sub->parsed()) return runGuarded(fn);
  std::cerr << app.help();
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdin, stdout or stderr would be taken by our first socket or
  // epoll fd, then read or written as if it were the user's: /dev/null there.
  for (;;) {
    int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) break;
    if (fd > 2) {
      ::close(fd);
      break;
    }
    ::fcntl(fd, F_SETFD, 0);  // a standard fd: kept across exec like any
  }
  berth::setLogName("berthctl");
  berth::setLogLevel(berth::LogLevel::error);

  std::optional<int> code = parseAndRun(argc, argv, namedSubcommand(argc, argv));
  if (!code) code = parseAndRun(argc, argv, "");
  return code.value_or(2);
}
