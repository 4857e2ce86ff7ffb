// berthctl's commands. Each returns the process exit status; failures throw
// berth::Error (main prints "berthctl: CODE: message" and exits 1).
#pragma once

#include "tools/berthctl/client.h"

#include <string>
#include <vector>

namespace berthctl {

struct CreateArgs {
  std::string id;
  std::string bundle;
  std::string stdinPath, stdoutPath, stderrPath;
  bool tty = false;
  std::vector<std::string> mounts;
  std::string checkpoint;
};

struct RunArgs {
  std::string id;
  std::string bundle;
  bool rm = false;
  bool detach = false;
  bool tty = false;
};

struct ExecArgs {
  std::string id;
  std::string execId;
  bool tty = false;
  bool detach = false;
  std::string cwd;
  std::vector<std::string> env;
  std::vector<std::string> args;
};

struct TaskArgs {  // ID and an optional --exec-id
  std::string id;
  std::string execId;
};

struct KillArgs {
  std::string id;
  std::string execId;
  std::string signal = "SIGTERM";
  bool all = false;
};

struct UpdateArgs {
  std::string id;
  std::string resources;
};

struct CheckpointArgs {
  std::string id;
  std::string imagePath;
  bool exit = false;
};

struct ResizeArgs {
  std::string id;
  std::string execId;
  uint32_t width = 0, height = 0;
};

struct EventsArgs {
  std::string topic;
  uint64_t since = 0;
  bool hasSince = false;
};

// Validates the namespace, ID and exec ID (if any) before anything else.
void checkTaskArgs(const Globals& g, const std::string& id, const std::string& execId = "");

int cmdCreate(const Globals& g, const CreateArgs& a);
int cmdStart(const Globals& g, const TaskArgs& a);
int cmdState(const Globals& g, const TaskArgs& a);
int cmdList(const Globals& g, bool json);
int cmdKill(const Globals& g, const KillArgs& a);
int cmdWait(const Globals& g, const TaskArgs& a);
int cmdDelete(const Globals& g, const TaskArgs& a);
int cmdPause(const Globals& g, const std::string& id);
int cmdResume(const Globals& g, const std::string& id);
int cmdPids(const Globals& g, const std::string& id);
int cmdUpdate(const Globals& g, const UpdateArgs& a);
int cmdMetrics(const Globals& g, const std::string& id);
int cmdCheckpoint(const Globals& g, const CheckpointArgs& a);
int cmdResize(const Globals& g, const ResizeArgs& a);
int cmdCloseStdin(const Globals& g, const TaskArgs& a);
int cmdVersion(const Globals& g);

int cmdRun(const Globals& g, const RunArgs& a);    // run_exec.cc
int cmdExec(const Globals& g, const ExecArgs& a);  // run_exec.cc
int cmdEvents(const Globals& g, const EventsArgs& a);  // events.cc

// "type=bind,source=/a,target=/b,options=rbind:ro" (ctr's --mount), written
// into a wire Mount; invalid-argument if malformed.
struct MountSpec {
  std::string type, source, target;
  std::vector<std::string> options;
};
MountSpec parseMount(const std::string& spec);

}  // namespace berthctl
