#include "common/event_json.h"

#include "common/timeutil.h"
#include "common/wire_status.h"

namespace berth {

using Payload = wire::Event::Payload;

namespace {

std::string_view text(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }

// /tasks/exit and /tasks/delete carry the same fields (containerd's too).
template <typename ExitLike>
void writeExit(JsonWriter& w, ExitLike e, bool exact) {
  w.member("id", text(e.getId()))
      .member("pid", e.getPid())
      .member("exit_status", contractExitStatus(e.getStatus()))
      .member("exited_at", rfc3339Nano(e.getExitedAtNs()));
  if (!exact) return;
  w.key("status").beginObject();
  auto s = e.getStatus();
  if (s.isExited()) w.member("exited", s.getExited());
  if (s.isSignaled()) w.member("signaled", s.getSignaled());
  w.endObject().member("exited_at_ns", e.getExitedAtNs());
}

void writeCreate(JsonWriter& w, wire::TaskCreate::Reader c) {
  w.member("bundle", text(c.getBundle()));
  w.key("rootfs").beginArray();
  for (auto m : c.getRootfs()) {
    w.beginObject()
        .member("type", text(m.getType()))
        .member("source", text(m.getSource()))
        .member("target", text(m.getTarget()));
    w.key("options").beginArray();
    for (auto o : m.getOptions()) w.value(text(o));
    w.endArray().endObject();
  }
  w.endArray();
  auto io = c.getIo();
  w.key("io")
      .beginObject()
      .member("stdin", text(io.getStdin()))
      .member("stdout", text(io.getStdout()))
      .member("stderr", text(io.getStderr()))
      .member("terminal", io.getTerminal())
      .endObject();
  w.member("checkpoint", text(c.getCheckpoint())).member("pid", c.getPid());
}

}  // namespace

const char* eventTopic(Payload::Which which) {
  switch (which) {
    case Payload::CREATE: return topics::kCreate;
    case Payload::START: return topics::kStart;
    case Payload::EXIT: return topics::kExit;
    case Payload::OOM: return topics::kOom;
    case Payload::DELETE: return topics::kDelete;
    case Payload::EXEC_ADDED: return topics::kExecAdded;
    case Payload::EXEC_STARTED: return topics::kExecStarted;
    case Payload::PAUSED: return topics::kPaused;
    case Payload::RESUMED: return topics::kResumed;
    case Payload::CHECKPOINTED: return topics::kCheckpointed;
  }
  return "";
}

std::string_view containerIdOf(Payload::Reader p) {
  switch (p.which()) {
    case Payload::CREATE: return text(p.getCreate().getContainerId());
    case Payload::START: return text(p.getStart().getContainerId());
    case Payload::EXIT: return text(p.getExit().getContainerId());
    case Payload::OOM: return text(p.getOom().getContainerId());
    case Payload::DELETE: return text(p.getDelete().getContainerId());
    case Payload::EXEC_ADDED: return text(p.getExecAdded().getContainerId());
    case Payload::EXEC_STARTED: return text(p.getExecStarted().getContainerId());
    case Payload::PAUSED: return text(p.getPaused().getContainerId());
    case Payload::RESUMED: return text(p.getResumed().getContainerId());
    case Payload::CHECKPOINTED: return text(p.getCheckpointed().getContainerId());
  }
  return "";
}

void writeEventFields(JsonWriter& w, Payload::Reader p, bool exact) {
  if (!*eventTopic(p.which())) return;  // a payload this build does not know: no fields
  w.member("container_id", containerIdOf(p));  // every payload's first field
  switch (p.which()) {
    case Payload::CREATE:
      writeCreate(w, p.getCreate());
      break;
    case Payload::START:
      w.member("pid", p.getStart().getPid());
      break;
    case Payload::EXIT:
      writeExit(w, p.getExit(), exact);
      break;
    case Payload::DELETE:
      writeExit(w, p.getDelete(), exact);
      break;
    case Payload::EXEC_ADDED:
      w.member("exec_id", text(p.getExecAdded().getExecId()));
      break;
    case Payload::EXEC_STARTED:
      w.member("exec_id", text(p.getExecStarted().getExecId())).member("pid", p.getExecStarted().getPid());
      break;
    case Payload::CHECKPOINTED:
      w.member("checkpoint", text(p.getCheckpointed().getCheckpoint()));
      break;
    case Payload::OOM:
    case Payload::PAUSED:
    case Payload::RESUMED:
      break;
  }
}

std::string eventJsonLine(wire::Event::Reader event) {
  JsonWriter w;
  w.beginObject()
      .member("seq", event.getSeq())
      .member("timestamp", rfc3339Nano(event.getTimestampNs()))
      .member("namespace", text(event.getNamespace()))
      .member("topic", eventTopic(event.getPayload().which()));
  w.key("event").beginObject();
  writeEventFields(w, event.getPayload(), false);
  w.endObject().endObject();
  return w.take();
}

}  // namespace berth
