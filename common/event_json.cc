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
  w.member("container_id", text(e.getContainerId()))
      .member("id", text(e.getId()))
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
  w.member("container_id", text(c.getContainerId())).member("bundle", text(c.getBundle()));
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
    case Payload::CREATE: return "/tasks/create";
    case Payload::START: return "/tasks/start";
    case Payload::EXIT: return "/tasks/exit";
    case Payload::OOM: return "/tasks/oom";
    case Payload::DELETE: return "/tasks/delete";
    case Payload::EXEC_ADDED: return "/tasks/exec-added";
    case Payload::EXEC_STARTED: return "/tasks/exec-started";
    case Payload::PAUSED: return "/tasks/paused";
    case Payload::RESUMED: return "/tasks/resumed";
    case Payload::CHECKPOINTED: return "/tasks/checkpointed";
  }
  return "";
}

void writeEventFields(JsonWriter& w, Payload::Reader p, bool exact) {
  switch (p.which()) {
    case Payload::CREATE:
      writeCreate(w, p.getCreate());
      break;
    case Payload::START:
      w.member("container_id", text(p.getStart().getContainerId()))
          .member("pid", p.getStart().getPid());
      break;
    case Payload::EXIT:
      writeExit(w, p.getExit(), exact);
      break;
    case Payload::OOM:
      w.member("container_id", text(p.getOom().getContainerId()));
      break;
    case Payload::DELETE:
      writeExit(w, p.getDelete(), exact);
      break;
    case Payload::EXEC_ADDED:
      w.member("container_id", text(p.getExecAdded().getContainerId()))
          .member("exec_id", text(p.getExecAdded().getExecId()));
      break;
    case Payload::EXEC_STARTED: {
      auto e = p.getExecStarted();
      w.member("container_id", text(e.getContainerId()))
          .member("exec_id", text(e.getExecId()))
          .member("pid", e.getPid());
      break;
    }
    case Payload::PAUSED:
      w.member("container_id", text(p.getPaused().getContainerId()));
      break;
    case Payload::RESUMED:
      w.member("container_id", text(p.getResumed().getContainerId()));
      break;
    case Payload::CHECKPOINTED:
      w.member("container_id", text(p.getCheckpointed().getContainerId()))
          .member("checkpoint", text(p.getCheckpointed().getCheckpoint()));
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
