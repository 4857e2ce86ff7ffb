@0xbb0b6eba155df189;
# Types shared by the shim's Task service (shim.capnp) and berthd's client API
# (berth.capnp). They mirror containerd's runtime package
# (../shared/reference/runtime-api.txt). Retired fields become Void in place so
# ordinals never move.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("berth::wire");

enum Status {
  # The status of a task or process, as containerd's runtime.Status.
  unknown @0;
  created @1;
  running @2;
  stopped @3;
  deleted @4;
  paused @5;
  pausing @6;
}

struct ExitStatus {
  # How a process ended. Mapped to 128+signal only at the contract edge.
  union {
    none @0 :Void;
    # Not exited yet.
    exited @1 :UInt8;
    # Exited by itself (exit(2)) with this code.
    signaled @2 :UInt8;
    # Killed by this signal.
  }
}

struct Exit {
  pid @0 :UInt32;
  status @1 :ExitStatus;
  exitedAtNs @2 :Int64;
  # Nanoseconds since the Unix epoch, UTC.
}

struct IO {
  stdin @0 :Text;
  stdout @1 :Text;
  stderr @2 :Text;
  # Each a FIFO path, a regular file (opened for append) or empty (/dev/null).
  terminal @3 :Bool;
}

struct ConsoleSize {
  width @0 :UInt32;
  height @1 :UInt32;
}

struct ProcessState {
  # State of the init process (execId empty) or of an exec process.
  id @0 :Text;
  execId @1 :Text;
  status @2 :Status;
  pid @3 :UInt32;
  exit @4 :Exit;
  # Valid only when status is stopped.
  io @5 :IO;
}

struct ProcessInfo {
  pid @0 :UInt32;
  info @1 :Text;
  # Which process of the task this is ("init", an exec id, or empty).
}

struct TaskInfo {
  id @0 :Text;
  namespace @1 :Text;
  runtime @2 :Text;
  spec @3 :Data;
  bundle @4 :Text;
}

struct Mount {
  # A rootfs mount, as containerd's mount.Mount, mounted at BUNDLE/rootfs.
  type @0 :Text;
  source @1 :Text;
  target @2 :Text;
  options @3 :List(Text);
}

struct CreateOpts {
  bundle @0 :Text;
  spec @1 :Data;
  # The OCI runtime spec (config.json); empty means read it from the bundle.
  rootfs @2 :List(Mount);
  io @3 :IO;
  checkpoint @4 :Text;
  # A checkpoint image directory to restore from; empty for a fresh start.
  options @5 :Data;
  # Runtime options (JSON), reserved.
  start @6 :Bool;
  # Berth's API only: start the init as soon as it is created (berthctl
  # run), in the same call; a start that fails deletes the task. The shim
  # is sent false.
}

struct ExecOpts {
  spec @0 :Data;
  # The OCI process spec (JSON) of the exec process.
  io @1 :IO;
}

struct Metrics {
  memory @0 :MemoryMetrics;
  cpu @1 :CpuMetrics;
  pids @2 :PidsMetrics;
}

struct MemoryMetrics {
  usage @0 :UInt64;
  limit @1 :UInt64;
  maxUsage @2 :UInt64;
  oomKills @3 :UInt64;
  cache @4 :UInt64;
  rss @5 :UInt64;
  mappedFile @6 :UInt64;
  pgfault @7 :UInt64;
  pgmajfault @8 :UInt64;
}

struct CpuMetrics {
  usageNs @0 :UInt64;
  userNs @1 :UInt64;
  systemNs @2 :UInt64;
  throttledPeriods @3 :UInt64;
  throttledTimeNs @4 :UInt64;
}

struct PidsMetrics {
  current @0 :UInt64;
  limit @1 :UInt64;
  # 0 means no limit.
}

# Events, as containerd's task events.

struct TaskCreate {
  containerId @0 :Text;
  bundle @1 :Text;
  rootfs @2 :List(Mount);
  io @3 :IO;
  checkpoint @4 :Text;
  pid @5 :UInt32;
}

struct TaskStart {
  containerId @0 :Text;
  pid @1 :UInt32;
}

struct TaskExit {
  containerId @0 :Text;
  id @1 :Text;
  # The process: the container id for the init, else the exec id.
  pid @2 :UInt32;
  status @3 :ExitStatus;
  exitedAtNs @4 :Int64;
}

struct TaskOOM {
  containerId @0 :Text;
}

struct TaskDelete {
  containerId @0 :Text;
  id @1 :Text;
  pid @2 :UInt32;
  status @3 :ExitStatus;
  exitedAtNs @4 :Int64;
}

struct TaskExecAdded {
  containerId @0 :Text;
  execId @1 :Text;
}

struct TaskExecStarted {
  containerId @0 :Text;
  execId @1 :Text;
  pid @2 :UInt32;
}

struct TaskPaused {
  containerId @0 :Text;
}

struct TaskResumed {
  containerId @0 :Text;
}

struct TaskCheckpointed {
  containerId @0 :Text;
  checkpoint @1 :Text;
}

struct Event {
  seq @0 :UInt64;
  # From a shim: the task's own sequence. From berthd: berthd's global sequence.
  timestampNs @1 :Int64;
  namespace @2 :Text;
  payload :union {
    create @3 :TaskCreate;
    start @4 :TaskStart;
    exit @5 :TaskExit;
    oom @6 :TaskOOM;
    delete @7 :TaskDelete;
    execAdded @8 :TaskExecAdded;
    execStarted @9 :TaskExecStarted;
    paused @10 :TaskPaused;
    resumed @11 :TaskResumed;
    checkpointed @12 :TaskCheckpointed;
  }
}

interface EventSink {
  # Passed by a subscriber; the publisher calls it once per event, in order.
  publish @0 (event :Event) -> ();
  # Returning acknowledges the event: the publisher drops it from its queue only then.
  close @1 (reason :Text) -> ();
  # The publisher ends the stream (e.g. a subscriber that fell too far behind).
}
