// The runtime layer berthd serves, mirroring containerd's runtime package
// (shared/reference/runtime-api.txt): Process, Task, Runtime.
//
// Plain C++ values only: Cap'n Proto types stay at the edges (api_service,
// shim_client, the event sink). Every operation is an Asio coroutine on the
// one loop; errors are berth::Error with the contract codes, "task does not
// exist" (not-found) and "task already exists" (already-exists) as in the
// reference.
#pragma once

#include "common/asio.h"
#include "common/call_cancel.h"
#include "common/errors.h"
#include "common/task_metrics.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

// The reference's ErrTaskNotExists / ErrTaskAlreadyExists texts.
inline constexpr const char* kTaskNotExists = "task does not exist";
inline constexpr const char* kTaskAlreadyExists = "task already exists";
// Those errors for NS/ID: the reference's text, then the task.
inline Error taskNotExists(const std::string& ns, const std::string& id) {
  return notFound(std::string(kTaskNotExists) + ": " + ns + "/" + id);
}
inline Error taskAlreadyExists(const std::string& ns, const std::string& id) {
  return alreadyExists(std::string(kTaskAlreadyExists) + ": " + ns + "/" + id);
}

enum class Status { Unknown, Created, Running, Stopped, Deleted, Paused, Pausing };

// "created", "running", ... ("unknown" for Unknown).
const char* statusName(Status status);
// The reverse of statusName; Unknown for any other word.
Status statusFromName(std::string_view name);

// How a process ended; mapped to 128+signal only at the contract edge.
struct ExitStatus {
  enum class Kind { None, Exited, Signaled };
  Kind kind = Kind::None;
  uint8_t value = 0;  // the exit code or the signal

  static ExitStatus exited(uint8_t code) { return {Kind::Exited, code}; }
  static ExitStatus signaled(uint8_t signal) { return {Kind::Signaled, signal}; }
  // From a waitpid(2) status.
  static ExitStatus fromWaitStatus(int waitStatus);
  // code, or 128+signal; 0 for None.
  uint32_t contractCode() const;
  int waitStatus() const;
};

struct Exit {
  uint32_t pid = 0;
  ExitStatus status;
  int64_t exitedAtNs = 0;
};

struct IO {
  std::string stdinPath;
  std::string stdoutPath;
  std::string stderrPath;
  bool terminal = false;
};

struct ConsoleSize {
  uint32_t width = 0;
  uint32_t height = 0;
};

// State of the init (execId empty) or of an exec process.
struct State {
  std::string id;
  std::string execId;
  Status status = Status::Unknown;
  uint32_t pid = 0;
  Exit exit;  // valid only when status is Stopped
  IO io;
};

struct ProcessInfo {
  uint32_t pid = 0;
  std::string info;
};

struct TaskInfo {
  std::string id;
  std::string ns;
  std::string runtime;
  std::string spec;  // config.json bytes
  std::string bundle;
};

struct Mount {
  std::string type;
  std::string source;
  std::string target;
  std::vector<std::string> options;
};

struct CreateOpts {
  std::string bundle;
  std::string spec;  // empty: the bundle's config.json
  std::vector<Mount> rootfs;
  IO io;
  std::string checkpoint;
  std::string options;
  // Started at once, in the same call (`run`: one client round trip less).
  // If the start fails, the task is deleted (its events say so) and the
  // start's error is thrown.
  bool start = false;
};

struct ExecOpts {
  std::string spec;  // OCI process spec (JSON)
  IO io;
};

using Metrics = TaskMetrics;

// A process of a task: its init (execId empty) or an exec process.
class Process {
 public:
  virtual ~Process() = default;
  // The task id for a Task, the exec id for an exec process.
  virtual const std::string& id() const = 0;
  virtual asio::awaitable<State> state() = 0;
  virtual asio::awaitable<void> kill(uint32_t signal, bool all) = 0;
  virtual asio::awaitable<void> resizePty(ConsoleSize size) = 0;
  virtual asio::awaitable<void> closeIO() = 0;
  // Returns the started process's pid.
  virtual asio::awaitable<uint32_t> start() = 0;
  // Returns once the process has exited. CANCEL (may be null) ends the wait
  // early, unavailable, when its caller went away (Go's ctx in the reference).
  virtual asio::awaitable<Exit> wait(std::shared_ptr<CallCancel> cancel) = 0;
};

// A container: its init process plus exec processes.
class Task : public Process {
 public:
  virtual TaskInfo info() const = 0;
  virtual const std::string& ns() const = 0;
  // The init's state as berthd last knew it, without asking the shim (list).
  virtual State cachedState() const = 0;
  virtual asio::awaitable<void> pause() = 0;
  virtual asio::awaitable<void> resume() = 0;
  virtual asio::awaitable<std::shared_ptr<Process>> exec(std::string execId, ExecOpts opts) = 0;
  virtual asio::awaitable<std::vector<ProcessInfo>> pids() = 0;
  virtual asio::awaitable<void> checkpoint(std::string imagePath, bool exit) = 0;
  virtual asio::awaitable<Exit> deleteProcess(std::string execId) = 0;
  virtual asio::awaitable<void> update(std::string resources) = 0;
  virtual asio::awaitable<std::shared_ptr<Process>> process(std::string execId) = 0;
  virtual asio::awaitable<Metrics> metrics() = 0;
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual const std::string& id() const = 0;
  // Creates a task (its init created, not started unless opts.start).
  virtual asio::awaitable<std::shared_ptr<Task>> create(std::string ns, std::string id,
                                                        CreateOpts opts) = 0;
  // not-found "task does not exist" if there is none.
  virtual asio::awaitable<std::shared_ptr<Task>> get(std::string ns, std::string id) = 0;
  // The tasks of one namespace.
  virtual asio::awaitable<std::vector<std::shared_ptr<Task>>> tasks(std::string ns) = 0;
  // Delete in the reference: removes a stopped or created task; returns its init's exit.
  virtual asio::awaitable<Exit> remove(std::shared_ptr<Task> task) = 0;
};

}  // namespace berth
