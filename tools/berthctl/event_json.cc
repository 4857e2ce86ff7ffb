#include "tools/berthctl/event_json.h"

#include "common/timeutil.h"
#include "common/wire_status.h"

namespace berthctl {

using nlohmann::ordered_json;
using E = berth::wire::Event;

namespace {

std::string text(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// /tasks/exit and /tasks/delete carry the same fields (containerd's too).
template <typename ExitLike>
void exitFields(ordered_json& j, ExitLike e) {
  j["container_id"] = text(e.getContainerId());
  j["id"] = text(e.getId());
  j["pid"] = e.getPid();
  j["exit_status"] = berth::contractExitStatus(e.getStatus());
  j["exited_at"] = berth::rfc3339Nano(e.getExitedAtNs());
}

ordered_json mountsJson(capnp::List<berth::wire::Mount>::Reader mounts) {
  ordered_json list = ordered_json::array();
  for (auto m : mounts) {
    ordered_json options = ordered_json::array();
    for (auto o : m.getOptions()) options.push_back(text(o));
    ordered_json j;
    j["type"] = text(m.getType());
    j["source"] = text(m.getSource());
    j["target"] = text(m.getTarget());
    j["options"] = options;
    list.push_back(j);
  }
  return list;
}

ordered_json ioJson(berth::wire::IO::Reader io) {
  ordered_json j;
  j["stdin"] = text(io.getStdin());
  j["stdout"] = text(io.getStdout());
  j["stderr"] = text(io.getStderr());
  j["terminal"] = io.getTerminal();
  return j;
}

}  // namespace

std::string eventTopic(E::Reader event) {
  auto p = event.getPayload();
  switch (p.which()) {
    case E::Payload::CREATE: return "/tasks/create";
    case E::Payload::START: return "/tasks/start";
    case E::Payload::EXIT: return "/tasks/exit";
    case E::Payload::OOM: return "/tasks/oom";
    case E::Payload::DELETE: return "/tasks/delete";
    case E::Payload::EXEC_ADDED: return "/tasks/exec-added";
    case E::Payload::EXEC_STARTED: return "/tasks/exec-started";
    case E::Payload::PAUSED: return "/tasks/paused";
    case E::Payload::RESUMED: return "/tasks/resumed";
    case E::Payload::CHECKPOINTED: return "/tasks/checkpointed";
  }
  return "";
}

ordered_json eventPayloadJson(E::Reader event) {
  auto p = event.getPayload();
  ordered_json j = ordered_json::object();
  switch (p.which()) {
    case E::Payload::CREATE: {
      auto e = p.getCreate();
      j["container_id"] = text(e.getContainerId());
      j["bundle"] = text(e.getBundle());
      j["rootfs"] = mountsJson(e.getRootfs());
      j["io"] = ioJson(e.getIo());
      j["checkpoint"] = text(e.getCheckpoint());
      j["pid"] = e.getPid();
      break;
    }
    case E::Payload::START: {
      auto e = p.getStart();
      j["container_id"] = text(e.getContainerId());
      j["pid"] = e.getPid();
      break;
    }
    case E::Payload::EXIT:
      exitFields(j, p.getExit());
      break;
    case E::Payload::OOM:
      j["container_id"] = text(p.getOom().getContainerId());
      break;
    case E::Payload::DELETE:
      exitFields(j, p.getDelete());
      break;
    case E::Payload::EXEC_ADDED: {
      auto e = p.getExecAdded();
      j["container_id"] = text(e.getContainerId());
      j["exec_id"] = text(e.getExecId());
      break;
    }
    case E::Payload::EXEC_STARTED: {
      auto e = p.getExecStarted();
      j["container_id"] = text(e.getContainerId());
      j["exec_id"] = text(e.getExecId());
      j["pid"] = e.getPid();
      break;
    }
    case E::Payload::PAUSED:
      j["container_id"] = text(p.getPaused().getContainerId());
      break;
    case E::Payload::RESUMED:
      j["container_id"] = text(p.getResumed().getContainerId());
      break;
    case E::Payload::CHECKPOINTED: {
      auto e = p.getCheckpointed();
      j["container_id"] = text(e.getContainerId());
      j["checkpoint"] = text(e.getCheckpoint());
      break;
    }
  }
  return j;
}

ordered_json eventJson(E::Reader event) {
  ordered_json j;
  j["seq"] = event.getSeq();
  j["timestamp"] = berth::rfc3339Nano(event.getTimestampNs());
  j["namespace"] = text(event.getNamespace());
  j["topic"] = eventTopic(event);
  j["event"] = eventPayloadJson(event);
  return j;
}

std::string eventJsonLine(E::Reader event) {
  return eventJson(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace berthctl
