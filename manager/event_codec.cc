#include "manager/event_codec.h"

#include "common/event_json.h"
#include "common/timeutil.h"
#include "manager/wire_convert.h"

#include <capnp/schema.h>

#include <algorithm>
#include <vector>

namespace berth {

using nlohmann::json;
using Payload = wire::Event::Payload;

namespace {

// Words of a made event's first segment: an exit or delete fits (capnp's
// default is 8 KiB, zeroed for each message).
constexpr uint kEventWords = 64;

std::shared_ptr<capnp::MallocMessageBuilder> newMessage(uint words = kEventWords) {
  return std::make_shared<capnp::MallocMessageBuilder>(words);
}

// --- the journal's fields -> wire ---

void ioFromJson(const json& j, wire::IO::Builder b) {
  b.setStdin(j.value("stdin", ""));
  b.setStdout(j.value("stdout", ""));
  b.setStderr(j.value("stderr", ""));
  b.setTerminal(j.value("terminal", false));
}

ExitStatus statusFromJson(const json& j) {
  if (j.contains("exited")) return ExitStatus::exited(j["exited"].get<uint8_t>());
  if (j.contains("signaled")) return ExitStatus::signaled(j["signaled"].get<uint8_t>());
  return {};
}

template <typename B>
void exitFromJson(const json& f, B b) {
  b.setContainerId(f.value("container_id", ""));
  b.setId(f.value("id", ""));
  b.setPid(f.value("pid", 0u));
  toWire(statusFromJson(f.value("status", json::object())), b.initStatus());
  b.setExitedAtNs(f.value("exited_at_ns", int64_t{0}));
}

void payloadFromJson(const std::string& t, const json& f, const std::string& cid, Payload::Builder p) {
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
    exitFromJson(f, p.initExit());
  } else if (t == topics::kOom) {
    p.initOom().setContainerId(cid);
  } else if (t == topics::kDelete) {
    exitFromJson(f, p.initDelete());
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
    // Unknown topic (a newer journal?): keep the stream going with a harmless shape.
    p.initPaused().setContainerId(cid);
  }
}

// A berthd-made init exit or delete.
TaskEvent makeInitEvent(const std::string& ns, const std::string& id, const Exit& exit,
                        bool isDelete) {
  TaskEvent ev;
  ev.timestampNs = nowNs();
  ev.ns = ns;
  ev.taskId = id;
  ev.topic = isDelete ? topics::kDelete : topics::kExit;
  ev.message = newMessage();
  auto root = ev.message->initRoot<wire::Event>();
  root.setTimestampNs(ev.timestampNs);
  root.setNamespace(ns);
  auto fill = [&](auto b) {
    b.setContainerId(id);
    b.setId(id);
    b.setPid(exit.pid);
    toWire(exit.status, b.initStatus());
    b.setExitedAtNs(exit.exitedAtNs);
  };
  if (isDelete) fill(root.getPayload().initDelete());
  else fill(root.getPayload().initExit());
  return ev;
}

}  // namespace

wire::Event::Reader TaskEvent::wire() const {
  return message->getRoot<wire::Event>().asReader();
}

void TaskEvent::setSeq(uint64_t s) {
  seq = s;
  message->getRoot<wire::Event>().setSeq(s);
}

void TaskEvent::setNamespace(const std::string& n) {
  ns = n;
  auto root = message->getRoot<wire::Event>();
  if (root.getNamespace() != kj::StringPtr(n.c_str(), n.size())) root.setNamespace(n);
}

TaskEvent eventFromWire(wire::Event::Reader ev) {
  TaskEvent out;
  out.shimSeq = ev.getSeq();
  out.timestampNs = ev.getTimestampNs();
  out.ns = textOf(ev.getNamespace());
  // One segment the copy fits in (+1: the root pointer).
  out.message = newMessage(static_cast<uint>(ev.totalSize().wordCount) + 1);
  out.message->setRoot(ev);
  auto p = ev.getPayload();
  const char* topic = eventTopic(p.which());
  out.topic = *topic ? topic : topics::kUnknown;
  out.taskId = std::string(containerIdOf(p));
  return out;
}

Exit exitOfEvent(const TaskEvent& ev) {
  auto p = ev.wire().getPayload();
  if (p.isExit()) {
    auto e = p.getExit();
    return Exit{e.getPid(), fromWire(e.getStatus()), e.getExitedAtNs()};
  }
  if (p.isDelete()) {
    auto d = p.getDelete();
    return Exit{d.getPid(), fromWire(d.getStatus()), d.getExitedAtNs()};
  }
  return {};
}

std::string processIdOf(const TaskEvent& ev) {
  auto p = ev.wire().getPayload();
  if (p.isExit()) return textOf(p.getExit().getId());
  if (p.isDelete()) return textOf(p.getDelete().getId());
  return "";
}

uint32_t pidOf(const TaskEvent& ev) {
  auto p = ev.wire().getPayload();
  if (p.isCreate()) return p.getCreate().getPid();
  if (p.isStart()) return p.getStart().getPid();
  return 0;
}

TaskEvent makeExitEvent(const std::string& ns, const std::string& id, const Exit& exit) {
  return makeInitEvent(ns, id, exit, false);
}

TaskEvent makeDeleteEvent(const std::string& ns, const std::string& id, const Exit& exit) {
  return makeInitEvent(ns, id, exit, true);
}

std::string toJournalLine(const TaskEvent& ev) {
  JsonWriter w;
  w.beginObject()
      .member("seq", ev.seq)
      .member("timestamp", rfc3339Nano(ev.timestampNs))
      .member("timestamp_ns", ev.timestampNs)
      .member("namespace", ev.ns)
      .member("shim_seq", ev.shimSeq)
      .member("task_id", ev.taskId)
      .member("topic", ev.topic);
  if (ev.incarnation != 0) w.member("incarnation", ev.incarnation);
  w.key("event").beginObject();
  writeEventFields(w, ev.wire().getPayload(), true);
  w.endObject().endObject();
  return w.take();
}

bool isKnownTopic(const std::string& topic) {
  // The topics of the payloads this build knows (eventTopic's), listed once.
  static const std::vector<std::string> known = [] {
    std::vector<std::string> out;
    for (auto field : capnp::Schema::from<wire::Event::Payload>().getUnionFields()) {
      auto which = static_cast<wire::Event::Payload::Which>(field.getProto().getDiscriminantValue());
      if (*eventTopic(which)) out.emplace_back(eventTopic(which));
    }
    return out;
  }();
  return std::find(known.begin(), known.end(), topic) != known.end();
}

TaskEvent fromJournalLine(const std::string& line) {
  json j = json::parse(line);
  TaskEvent ev;
  ev.seq = j.at("seq").get<uint64_t>();
  ev.timestampNs = j.value("timestamp_ns", int64_t{0});
  ev.ns = j.value("namespace", "");
  ev.shimSeq = j.value("shim_seq", uint64_t{0});
  ev.taskId = j.value("task_id", "");
  ev.topic = j.value("topic", "");  // (one this berthd does not know: see isKnownTopic)
  ev.incarnation = j.value("incarnation", int64_t{0});
  const json fields = j.value("event", json::object());
  ev.message = newMessage();
  auto root = ev.message->initRoot<wire::Event>();
  root.setSeq(ev.seq);
  root.setTimestampNs(ev.timestampNs);
  root.setNamespace(ev.ns);
  payloadFromJson(ev.topic, fields, fields.value("container_id", ev.taskId), root.getPayload());
  return ev;
}

}  // namespace berth
