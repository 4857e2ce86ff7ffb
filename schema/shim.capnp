@0xdea42a5a4fdd55e2;
# The Task service a berth-shim serves to berthd on STATE/NS/ID/shim.sock.
# One shim owns one task: its init process (execId empty) and its exec processes.
# Errors are exceptions whose description starts with a contract code:
# "not-found: ...", "already-exists: ...", "failed-precondition: ...",
# "invalid-argument: ...", "internal: ...".

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("berth::wire");
using T = import "types.capnp";

interface Shim {
  create @0 CreateRequest -> CreateResponse;
  # Create the init process (runc create); it is not started.
  start @1 StartRequest -> StartResponse;
  # Start the init process or a registered exec process.
  state @2 StateRequest -> StateResponse;
  kill @3 KillRequest -> KillResponse;
  wait @4 WaitRequest -> WaitResponse;
  # Returns once the process has exited; the exit is kept until delete.
  delete @5 DeleteRequest -> DeleteResponse;
  # Delete a stopped or created process; for the init, the whole container.
  exec @6 ExecRequest -> ExecResponse;
  # Register an exec process (not started).
  pids @7 PidsRequest -> PidsResponse;
  pause @8 PauseRequest -> PauseResponse;
  resume @9 ResumeRequest -> ResumeResponse;
  update @10 UpdateRequest -> UpdateResponse;
  checkpoint @11 CheckpointRequest -> CheckpointResponse;
  resizePty @12 ResizePtyRequest -> ResizePtyResponse;
  closeIO @13 CloseIORequest -> CloseIOResponse;
  stats @14 StatsRequest -> StatsResponse;
  connect @15 ConnectRequest -> ConnectResponse;
  # Who is there: the shim's pid, the init's pid and the shim's version.
  shutdown @16 ShutdownRequest -> ShutdownResponse;
  # Exit once the task is deleted (refused before, unless `now`).
  subscribe @17 SubscribeRequest -> SubscribeResponse;
  # Replay the queued events after `afterSeq` to `sink`, then stream live ones.
}

struct CreateRequest {
  id @0 :Text;
  opts @1 :T.CreateOpts;
}
struct CreateResponse {
  pid @0 :UInt32;
}

struct StartRequest {
  execId @0 :Text;
}
struct StartResponse {
  pid @0 :UInt32;
}

struct StateRequest {
  execId @0 :Text;
}
struct StateResponse {
  state @0 :T.ProcessState;
}

struct KillRequest {
  execId @0 :Text;
  signal @1 :UInt32;
  all @2 :Bool;
  # Signal every process of the container, not only the init.
}
struct KillResponse {}

struct WaitRequest {
  execId @0 :Text;
}
struct WaitResponse {
  exit @0 :T.Exit;
}

struct DeleteRequest {
  execId @0 :Text;
}
struct DeleteResponse {
  exit @0 :T.Exit;
  lastSeq @1 :UInt64;
  # The shim's newest event seq as it answered (the delete's own event
  # included): what berthd lets through before the task goes. 0 from a shim
  # older than this field.
}

struct ExecRequest {
  execId @0 :Text;
  opts @1 :T.ExecOpts;
}
struct ExecResponse {}

struct PidsRequest {}
struct PidsResponse {
  processes @0 :List(T.ProcessInfo);
}

struct PauseRequest {}
struct PauseResponse {}
struct ResumeRequest {}
struct ResumeResponse {}

struct UpdateRequest {
  resources @0 :Data;
  # OCI LinuxResources as JSON.
}
struct UpdateResponse {}

struct CheckpointRequest {
  imagePath @0 :Text;
  exit @1 :Bool;
  # Leave the container stopped after the checkpoint.
}
struct CheckpointResponse {}

struct ResizePtyRequest {
  execId @0 :Text;
  size @1 :T.ConsoleSize;
}
struct ResizePtyResponse {}

struct CloseIORequest {
  execId @0 :Text;
}
struct CloseIOResponse {}

struct StatsRequest {}
struct StatsResponse {
  metrics @0 :T.Metrics;
}

struct ConnectRequest {}
struct ConnectResponse {
  shimPid @0 :UInt32;
  taskPid @1 :UInt32;
  version @2 :Text;
  lastSeq @3 :UInt64;
  # The sequence number of the newest event the shim has emitted.
}

struct ShutdownRequest {
  now @0 :Bool;
}
struct ShutdownResponse {}

struct SubscribeRequest {
  sink @0 :T.EventSink;
  afterSeq @1 :UInt64;
  # Events with seq <= afterSeq were handled by the subscriber and are dropped.
}
struct SubscribeResponse {
  lastSeq @0 :UInt64;
}
