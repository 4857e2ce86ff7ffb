#include "manager/event_codec.h"

#include "common/timeutil.h"
#include "manager/wire_convert.h"

namespace berth {

using nlohmann::json;

namespace {

json ioJson(wire::IO::Reader io) {
  return {{"stdin", textOf(io.getStdin())},
          {"stdout", textOf(io.getStdout())},
          {"stderr", textOf(io.getStderr())},
          {"terminal", io.getTerminal()}};
}

void ioFromJson(const json& j, wire::IO::Builder b) {
  b.setStdin(j.value("stdin", ""));
  b.setStdout(j.value("stdout", ""));
  b.setStderr(j.value("stderr", ""));
  b.setTerminal(j.value("terminal", false));
}

json statusJson(const ExitStatus& s) {
  switch (s.kind) {
    case ExitStatus::Kind::Exited: return {{"exited", s.value}};
    case ExitStatus::Kind::Signaled: return {{"signaled", s.value}};
    case ExitStatus::Kind::None: break;
  }
  return json::object();
}

ExitStatus statusFromJson(const json& j) {
  if (j.contains("exited")) return ExitStatus::exited(j["exited"].get<uint8_t>());
  if (j.contains("signaled")) return ExitStatus::signaled(j["signaled"].get<uint8_t>());
  return {};
}

// container_id, id, pid, exit_status, exited_at (+ typed status, exited_at_ns).
json exitJson(const std::string& containerId, const std::string& id, const Exit& e) {
  return {{"container_id", containerId},
          {"id", id},
          {"pid", e.pid},
          {"exit_status", e.status.contractCode()},
          {"exited_at", rfc3339Nano(e.exitedAtNs)},
          {"status", statusJson(e.status)},
          {"exited_at_ns", e.exitedAtNs}};
}

template <typename B>
void exitToWire(const json& f, B b) {
  b.setContainerId(f.value("container_id", ""));
  b.setId(f.value("id", ""));
  b.setPid(f.value("pid", 0u));
  Exit e;
  e.status = statusFromJson(f.value("status", json::object()));
  toWire(e.status, b.initStatus());
  b.setExitedAtNs(f.value("exited_at_ns", int64_t{0}));
}

}  // namespace

TaskEvent eventFromWire(wire::Event::Reader ev) {
  TaskEvent out;
  out.shimSeq = ev.getSeq();
  out.timestampNs = ev.getTimestampNs();
  out.ns = textOf(ev.getNamespace());
  auto p = ev.getPayload();
  json& f = out.fields;
  switch (p.which()) {
    case wire::Event::Payload::CREATE: {
      auto c = p.getCreate();
      out.topic = topics::kCreate;
      json rootfs = json::array();
      for (auto m : c.getRootfs()) {
        json opts = json::array();
        for (auto o : m.getOptions()) opts.push_back(textOf(o));
        rootfs.push_back({{"type", textOf(m.getType())},
                          {"source", textOf(m.getSource())},
                          {"target", textOf(m.getTarget())},
                          {"options", opts}});
      }
      f = {{"container_id", textOf(c.getContainerId())},
           {"bundle", textOf(c.getBundle())},
           {"rootfs", rootfs},
           {"io", ioJson(c.getIo())},
           {"checkpoint", textOf(c.getCheckpoint())},
           {"pid", c.getPid()}};
      break;
    }
    case wire::Event::Payload::START: {
      auto s = p.getStart();
      out.topic = topics::kStart;
      f = {{"container_id", textOf(s.getContainerId())}, {"pid", s.getPid()}};
      break;
    }
    case wire::Event::Payload::EXIT: {
      auto e = p.getExit();
      out.topic = topics::kExit;
      Exit x{e.getPid(), fromWire(e.getStatus()), e.getExitedAtNs()};
      f = exitJson(textOf(e.getContainerId()), textOf(e.getId()), x);
      break;
    }
    case wire::Event::Payload::OOM:
      out.topic = topics::kOom;
      f = {{"container_id", textOf(p.getOom().getContainerId())}};
      break;
    case wire::Event::Payload::DELETE: {
      auto d = p.getDelete();
      out.topic = topics::kDelete;
      Exit x{d.getPid(), fromWire(d.getStatus()), d.getExitedAtNs()};
      f = exitJson(textOf(d.getContainerId()), textOf(d.getId()), x);
      break;
    }
    case wire::Event::Payload::EXEC_ADDED: {
      auto e = p.getExecAdded();
      out.topic = topics::kExecAdded;
      f = {{"container_id", textOf(e.getContainerId())}, {"exec_id", textOf(e.getExecId())}};
      break;
    }
    case wire::Event::Payload::EXEC_STARTED: {
      auto e = p.getExecStarted();
      out.topic = topics::kExecStarted;
      f = {{"container_id", textOf(e.getContainerId())},
           {"exec_id", textOf(e.getExecId())},
           {"pid", e.getPid()}};
      break;
    }
    case wire::Event::Payload::PAUSED:
      out.topic = topics::kPaused;
      f = {{"container_id", textOf(p.getPaused().getContainerId())}};
      break;
    case wire::Event::Payload::RESUMED:
      out.topic = topics::kResumed;
      f = {{"container_id", textOf(p.getResumed().getContainerId())}};
      break;
    case wire::Event::Payload::CHECKPOINTED: {
      auto c = p.getCheckpointed();
      out.topic = topics::kCheckpointed;
      f = {{"container_id", textOf(c.getContainerId())},
           {"checkpoint", textOf(c.getCheckpoint())}};
      break;
    }
    default:
      out.topic = "/tasks/?";
      f = json::object();
      break;
  }
  out.taskId = f.value("container_id", "");
  return out;
}

void eventToWire(const TaskEvent& ev, wire::Event::Builder b) {
  b.setSeq(ev.seq);
  b.setTimestampNs(ev.timestampNs);
  b.setNamespace(ev.ns);
  auto p = b.initPayload();
  const json& f = ev.fields;
  std::string cid = f.value("container_id", ev.taskId);
  const std::string& t = ev.topic;
  if (t == topics::kCreate) {
    auto c = p.initCreate();
    c.setContainerId(cid);
    c.setBundle(f.value("bundle", ""));
    const json rootfs = f.value("rootfs", json::array());
    auto mounts = c.initRootfs(static_cast<unsigned>(rootfs.size()));
    for (unsigned i = 0; i < rootfs.size(); ++i) {
      const json& m = rootfs[i];
      mounts[i].setType(m.value("type", ""));
      mounts[i].setSource(m.value("source", ""));
      mounts[i].setTarget(m.value("target", ""));
      const json opts = m.value("options", json::array());
      auto o = mounts[i].initOptions(static_cast<unsigned>(opts.size()));
      for (unsigned k = 0; k < opts.size(); ++k) o.set(k, opts[k].get<std::string>());
    }
    ioFromJson(f.value("io", json::object()), c.initIo());
    c.setCheckpoint(f.value("checkpoint", ""));
    c.setPid(f.value("pid", 0u));
  } else if (t == topics::kStart) {
    auto s = p.initStart();
    s.setContainerId(cid);
    s.setPid(f.value("pid", 0u));
  } else if (t == topics::kExit) {
    exitToWire(f, p.initExit());
  } else if (t == topics::kOom) {
    p.initOom().setContainerId(cid);
  } else if (t == topics::kDelete) {
    exitToWire(f, p.initDelete());
  } else if (t == topics::kExecAdded) {
    auto e = p.initExecAdded();
    e.setContainerId(cid);
    e.setExecId(f.value("exec_id", ""));
  } else if (t == topics::kExecStarted) {
    auto e = p.initExecStarted();
    e.setContainerId(cid);
    e.setExecId(f.value("exec_id", ""));
    e.setPid(f.value("pid", 0u));
  } else if (t == topics::kPaused) {
    p.initPaused().setContainerId(cid);
  } else if (t == topics::kResumed) {
    p.initResumed().setContainerId(cid);
  } else if (t == topics::kCheckpointed) {
    auto c = p.initCheckpointed();
    c.setContainerId(cid);
    c.setCheckpoint(f.value("checkpoint", ""));
  } else {
    // Unknown topic (a newer journal?): keep the stream going with an empty OOM-free shape.
    p.initPaused().setContainerId(cid);
  }
}

Exit exitOfEvent(const TaskEvent& ev) {
  Exit e;
  e.pid = ev.fields.value("pid", 0u);
  e.status = statusFromJson(ev.fields.value("status", json::object()));
  e.exitedAtNs = ev.fields.value("exited_at_ns", int64_t{0});
  return e;
}

TaskEvent makeExitEvent(const std::string& ns, const std::string& id, const Exit& exit) {
  TaskEvent ev;
  ev.timestampNs = nowNs();
  ev.ns = ns;
  ev.taskId = id;
  ev.topic = topics::kExit;
  ev.fields = exitJson(id, id, exit);
  return ev;
}

TaskEvent makeDeleteEvent(const std::string& ns, const std::string& id, const Exit& exit) {
  TaskEvent ev = makeExitEvent(ns, id, exit);
  ev.topic = topics::kDelete;
  return ev;
}

std::string toJournalLine(const TaskEvent& ev) {
  json j = {{"seq", ev.seq},
            {"timestamp", rfc3339Nano(ev.timestampNs)},
            {"timestamp_ns", ev.timestampNs},
            {"namespace", ev.ns},
            {"shim_seq", ev.shimSeq},
            {"task_id", ev.taskId},
            {"topic", ev.topic},
            {"event", ev.fields}};
  if (ev.incarnation != 0) j["incarnation"] = ev.incarnation;
  return j.dump();
}

TaskEvent fromJournalLine(const std::string& line) {
  json j = json::parse(line);
  TaskEvent ev;
  ev.seq = j.at("seq").get<uint64_t>();
  ev.timestampNs = j.value("timestamp_ns", int64_t{0});
  ev.ns = j.value("namespace", "");
  ev.shimSeq = j.value("shim_seq", uint64_t{0});
  ev.taskId = j.value("task_id", "");
  ev.topic = j.value("topic", "");
  ev.fields = j.value("event", json::object());
  ev.incarnation = j.value("incarnation", int64_t{0});
  return ev;
}

}  // namespace berth
