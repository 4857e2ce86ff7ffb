@0xf4f0fced43b8a2fd;
# berthd's client API, served on --address (what berthctl calls). Tasks are
# named by namespace + id; exec processes by execId within their task (empty
# execId: the init). Errors as in shim.capnp: "CODE: message".

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("berth::wire");
using T = import "types.capnp";

struct TaskRef {
  namespace @0 :Text;
  id @1 :Text;
}

interface Berth {
  create @0 ApiCreateRequest -> ApiCreateResponse;
  start @1 ApiStartRequest -> ApiStartResponse;
  state @2 ApiStateRequest -> ApiStateResponse;
  list @3 ApiListRequest -> ApiListResponse;
  kill @4 ApiKillRequest -> ApiKillResponse;
  wait @5 ApiWaitRequest -> ApiWaitResponse;
  delete @6 ApiDeleteRequest -> ApiDeleteResponse;
  exec @7 ApiExecRequest -> ApiExecResponse;
  pids @8 ApiPidsRequest -> ApiPidsResponse;
  pause @9 ApiPauseRequest -> ApiPauseResponse;
  resume @10 ApiResumeRequest -> ApiResumeResponse;
  update @11 ApiUpdateRequest -> ApiUpdateResponse;
  metrics @12 ApiMetricsRequest -> ApiMetricsResponse;
  checkpoint @13 ApiCheckpointRequest -> ApiCheckpointResponse;
  resizePty @14 ApiResizePtyRequest -> ApiResizePtyResponse;
  closeIO @15 ApiCloseIORequest -> ApiCloseIOResponse;
  subscribe @16 ApiSubscribeRequest -> ApiSubscribeResponse;
  # Stream berthd's events (seq is berthd's own) to sink; with `since`, first
  # replay the retained events after it.
  version @17 ApiVersionRequest -> ApiVersionResponse;
}

struct ApiCreateRequest {
  task @0 :TaskRef;
  opts @1 :T.CreateOpts;
}
struct ApiCreateResponse {
  pid @0 :UInt32;
  started @1 :Bool;
  # opts.start was asked and the task is started. False from a berthd older
  # than opts.start, which only created it: the client then starts it.
}

struct ApiStartRequest {
  task @0 :TaskRef;
  execId @1 :Text;
}
struct ApiStartResponse {
  pid @0 :UInt32;
}

struct ApiStateRequest {
  task @0 :TaskRef;
  execId @1 :Text;
}
struct ApiStateResponse {
  state @0 :T.ProcessState;
}

struct ApiListRequest {
  namespace @0 :Text;
}
struct ApiListResponse {
  tasks @0 :List(T.ProcessState);
  # The init process state of each task of the namespace.
}

struct ApiKillRequest {
  task @0 :TaskRef;
  execId @1 :Text;
  signal @2 :UInt32;
  all @3 :Bool;
}
struct ApiKillResponse {}

struct ApiWaitRequest {
  task @0 :TaskRef;
  execId @1 :Text;
}
struct ApiWaitResponse {
  exit @0 :T.Exit;
}

struct ApiDeleteRequest {
  task @0 :TaskRef;
  execId @1 :Text;
}
struct ApiDeleteResponse {
  exit @0 :T.Exit;
}

struct ApiExecRequest {
  task @0 :TaskRef;
  execId @1 :Text;
  opts @2 :T.ExecOpts;
}
struct ApiExecResponse {}

struct ApiPidsRequest {
  task @0 :TaskRef;
}
struct ApiPidsResponse {
  processes @0 :List(T.ProcessInfo);
}

struct ApiPauseRequest {
  task @0 :TaskRef;
}
struct ApiPauseResponse {}

struct ApiResumeRequest {
  task @0 :TaskRef;
}
struct ApiResumeResponse {}

struct ApiUpdateRequest {
  task @0 :TaskRef;
  resources @1 :Data;
}
struct ApiUpdateResponse {}

struct ApiMetricsRequest {
  task @0 :TaskRef;
}
struct ApiMetricsResponse {
  metrics @0 :T.Metrics;
}

struct ApiCheckpointRequest {
  task @0 :TaskRef;
  imagePath @1 :Text;
  exit @2 :Bool;
}
struct ApiCheckpointResponse {}

struct ApiResizePtyRequest {
  task @0 :TaskRef;
  execId @1 :Text;
  size @2 :T.ConsoleSize;
}
struct ApiResizePtyResponse {}

struct ApiCloseIORequest {
  task @0 :TaskRef;
  execId @1 :Text;
}
struct ApiCloseIOResponse {}

struct ApiSubscribeRequest {
  sink @0 :T.EventSink;
  topicPrefix @1 :Text;
  since @2 :UInt64;
  hasSince @3 :Bool;
}
struct ApiSubscribeResponse {
  lastSeq @0 :UInt64;
}

struct ApiVersionRequest {}
struct ApiVersionResponse {
  version @0 :Text;
  pid @1 :UInt32;
}
