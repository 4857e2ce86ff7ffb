// berthd's event codec: a shim's event kept in capnp form, its journal line,
// and a journal line read back (also one written before events were kept so);
// the contract's event line and the JSON writer both are written with.
#include <catch2/catch.hpp>

#include "common/event_json.h"
#include "common/json_writer.h"
#include "manager/event_codec.h"

#include <capnp/message.h>

using namespace berth;

namespace {

// A shim's exit event for process ID of task CID.
TaskEvent shimExit(const char* cid, const char* id, uint32_t pid, ExitStatus status) {
  capnp::MallocMessageBuilder mb;
  auto ev = mb.initRoot<wire::Event>();
  ev.setSeq(4);
  ev.setTimestampNs(1700000000123456789);
  ev.setNamespace("shimns");
  auto e = ev.getPayload().initExit();
  e.setContainerId(cid);
  e.setId(id);
  e.setPid(pid);
  auto s = e.initStatus();
  if (status.kind == ExitStatus::Kind::Signaled) s.setSignaled(status.value);
  else s.setExited(status.value);
  e.setExitedAtNs(1700000000000000007);
  return eventFromWire(ev.asReader());
}

}  // namespace

TEST_CASE("a shim's exit keeps its fields, and berthd's seq and namespace go into its wire form") {
  TaskEvent ev = shimExit("web", "web", 42, ExitStatus::signaled(9));
  CHECK(ev.shimSeq == 4);
  CHECK(ev.topic == topics::kExit);
  CHECK(ev.taskId == "web");
  CHECK(processIdOf(ev) == "web");
  Exit x = exitOfEvent(ev);
  CHECK(x.pid == 42);
  CHECK(x.status.kind == ExitStatus::Kind::Signaled);
  CHECK(x.status.value == 9);
  CHECK(x.exitedAtNs == 1700000000000000007);

  ev.setSeq(77);
  ev.setNamespace("default");
  CHECK(ev.wire().getSeq() == 77);
  CHECK(std::string(ev.wire().getNamespace().cStr()) == "default");
  CHECK(ev.ns == "default");
}

TEST_CASE("an exec's exit names the exec, not the task") {
  TaskEvent ev = shimExit("web", "sh-1", 50, ExitStatus::exited(3));
  CHECK(ev.taskId == "web");
  CHECK(processIdOf(ev) == "sh-1");
  CHECK(pidOf(ev) == 0);  // only create and start carry a pid of their own
}

TEST_CASE("a journal line has the contract's fields and reads back to the same wire event") {
  TaskEvent ev = shimExit("web", "web", 42, ExitStatus::signaled(9));
  ev.setSeq(12);
  ev.setNamespace("default");
  ev.incarnation = 99;
  std::string line = toJournalLine(ev);
  auto j = nlohmann::json::parse(line);
  CHECK(j["seq"] == 12);
  CHECK(j["shim_seq"] == 4);
  CHECK(j["topic"] == "/tasks/exit");
  CHECK(j["incarnation"] == 99);
  CHECK(j["event"]["container_id"] == "web");
  CHECK(j["event"]["exit_status"] == 137);
  CHECK(j["event"]["exited_at"] == "2023-11-14T22:13:20.000000007Z");

  TaskEvent back = fromJournalLine(line);
  CHECK(back.seq == 12);
  CHECK(back.shimSeq == 4);
  CHECK(back.incarnation == 99);
  CHECK(back.taskId == "web");
  CHECK(back.wire().getSeq() == 12);
  CHECK(back.wire().getTimestampNs() == 1700000000123456789);
  CHECK(toJournalLine(back) == line);
  CHECK(eventJsonLine(back.wire()) == eventJsonLine(ev.wire()));  // namespace, seq, fields
  Exit x = exitOfEvent(back);
  CHECK(x.pid == 42);
  CHECK(x.status.kind == ExitStatus::Kind::Signaled);
}

TEST_CASE("a create's mounts and IO survive the journal") {
  capnp::MallocMessageBuilder mb;
  auto w = mb.initRoot<wire::Event>();
  auto c = w.getPayload().initCreate();
  c.setContainerId("db");
  c.setBundle("/b/db");
  c.setPid(7);
  auto m = c.initRootfs(1);
  m[0].setType("overlay");
  m[0].setSource("overlay");
  m[0].setTarget("/r");
  auto o = m[0].initOptions(2);
  o.set(0, "lowerdir=/l");
  o.set(1, "upperdir=/u \"quoted\"");
  c.initIo().setStdout("/tmp/out");
  TaskEvent ev = eventFromWire(w.asReader());
  CHECK(pidOf(ev) == 7);
  TaskEvent back = fromJournalLine(toJournalLine(ev));
  auto bc = back.wire().getPayload().getCreate();
  CHECK(std::string(bc.getBundle().cStr()) == "/b/db");
  CHECK(bc.getRootfs().size() == 1);
  CHECK(std::string(bc.getRootfs()[0].getOptions()[1].cStr()) == "upperdir=/u \"quoted\"");
  CHECK(std::string(bc.getIo().getStdout().cStr()) == "/tmp/out");
  CHECK(pidOf(back) == 7);
}

TEST_CASE("a journal line from an earlier berthd loads") {
  // As berthd wrote it when events were kept as JSON (nlohmann's key order).
  std::string line =
      R"({"event":{"container_id":"a","exit_status":137,"exited_at":"2023-11-14T22:13:20.000000005Z",)"
      R"("exited_at_ns":1700000000000000005,"id":"a","pid":42,"status":{"signaled":9}},)"
      R"("namespace":"default","seq":7,"shim_seq":3,"task_id":"a",)"
      R"("timestamp":"2023-11-14T22:13:20.000000005Z","timestamp_ns":1700000000000000005,"topic":"/tasks/exit"})";
  TaskEvent ev = fromJournalLine(line);
  CHECK(ev.seq == 7);
  CHECK(ev.wire().getSeq() == 7);
  CHECK(std::string(ev.wire().getNamespace().cStr()) == "default");
  CHECK(ev.wire().getTimestampNs() == 1700000000000000005);
  CHECK(processIdOf(ev) == "a");
  Exit x = exitOfEvent(ev);
  CHECK(x.pid == 42);
  CHECK(x.status.contractCode() == 137);
  // The same content (the members' order is not part of the format).
  CHECK(nlohmann::json::parse(toJournalLine(ev)) == nlohmann::json::parse(line));
}

TEST_CASE("berthd's own delete event has the task as its process") {
  TaskEvent ev = makeDeleteEvent("default", "web", Exit{42, ExitStatus::exited(0), 5});
  CHECK(ev.topic == topics::kDelete);
  CHECK(processIdOf(ev) == "web");
  CHECK(exitOfEvent(ev).pid == 42);
  CHECK(std::string(ev.wire().getNamespace().cStr()) == "default");
}

TEST_CASE("a journal line of a topic this berthd does not know is never replayed as another") {
  // (a newer berthd's journal): its payload becomes a stand-in; under its own
  // topic it passed subscribers' filters and went out as a /tasks/paused
  std::string line = R"({"event":{"container_id":"a"},"namespace":"default","seq":9,"task_id":"a",)"
                     R"("timestamp_ns":5,"topic":"/tasks/future"})";
  TaskEvent ev = fromJournalLine(line);
  CHECK(ev.seq == 9);
  CHECK(ev.topic == "/tasks/future");  // kept as written (a rotation writes it back)
  CHECK_FALSE(isKnownTopic(ev.topic));
  CHECK_FALSE(isKnownTopic(topics::kUnknown));
  std::string known = R"({"event":{"container_id":"a"},"namespace":"default","seq":9,"task_id":"a",)"
                      R"("timestamp_ns":5,"topic":"/tasks/paused"})";
  CHECK(fromJournalLine(known).topic == "/tasks/paused");
}

TEST_CASE("a broken journal line throws") {
  CHECK_THROWS(fromJournalLine("{\"seq\":"));
}

TEST_CASE("berthctl's line for an exit has the contract's fields, in its order") {
  TaskEvent ev = shimExit("web", "web", 42, ExitStatus::signaled(9));
  ev.setSeq(12);
  ev.setNamespace("default");
  CHECK(eventJsonLine(ev.wire()) ==
        R"({"seq":12,"timestamp":"2023-11-14T22:13:20.123456789Z","namespace":"default",)"
        R"("topic":"/tasks/exit","event":{"container_id":"web","id":"web","pid":42,)"
        R"("exit_status":137,"exited_at":"2023-11-14T22:13:20.000000007Z"}})");
}

TEST_CASE("every topic's journal line reads back to the same event") {
  capnp::MallocMessageBuilder mb;
  auto w = mb.initRoot<wire::Event>();
  w.setSeq(5);
  w.setTimestampNs(1700000000000000042);
  w.setNamespace("ns1");
  auto p = w.getPayload();
  auto check = [&](const char* topic) {
    TaskEvent ev = eventFromWire(w.asReader());
    CHECK(ev.topic == topic);
    ev.setSeq(9);  // berthd's, as every journaled event has
    TaskEvent back = fromJournalLine(toJournalLine(ev));
    CHECK(back.topic == topic);
    CHECK(eventJsonLine(back.wire()) == eventJsonLine(ev.wire()));
    // What only the journal keeps: an exit's typed status and nanoseconds.
    CHECK(exitOfEvent(back).status.kind == exitOfEvent(ev).status.kind);
    CHECK(exitOfEvent(back).status.value == exitOfEvent(ev).status.value);
    CHECK(exitOfEvent(back).exitedAtNs == exitOfEvent(ev).exitedAtNs);
  };
  p.initStart().setContainerId("c");
  p.getStart().setPid(3);
  check(topics::kStart);
  p.initOom().setContainerId("c");
  check(topics::kOom);
  auto d = p.initDelete();
  d.setContainerId("c");
  d.setId("c");
  d.initStatus().setSignaled(15);
  d.setExitedAtNs(1700000000000000099);
  check(topics::kDelete);
  CHECK(exitOfEvent(eventFromWire(w.asReader())).status.kind == ExitStatus::Kind::Signaled);
  p.initExecAdded().setExecId("e");
  check(topics::kExecAdded);
  p.initExecStarted().setPid(9);
  check(topics::kExecStarted);
  p.initPaused().setContainerId("c");
  check(topics::kPaused);
  p.initResumed().setContainerId("c");
  check(topics::kResumed);
  p.initCheckpointed().setCheckpoint("/ck");
  check(topics::kCheckpointed);
}

TEST_CASE("the JSON writer separates members and nests containers") {
  JsonWriter w;
  w.beginObject().member("a", 1).key("b").beginArray().value("x").value(true).beginObject().endObject();
  w.endArray().member("c", int64_t{-5}).key("d").beginObject().member("e", "f").endObject().endObject();
  CHECK(w.text() == R"({"a":1,"b":["x",true,{}],"c":-5,"d":{"e":"f"}})");
  CHECK(nlohmann::json::parse(w.text())["d"]["e"] == "f");
}

TEST_CASE("the JSON writer escapes what JSON needs and replaces invalid UTF-8") {
  JsonWriter w;
  w.beginArray().value("q\"b\\s/").value("tab\tnl\n\x01").value("caf\xc3\xa9").value("bad\xff").endArray();
  CHECK(w.text() == "[\"q\\\"b\\\\s/\",\"tab\\tnl\\n\\u0001\",\"caf\xc3\xa9\",\"bad\xef\xbf\xbd\"]");
  auto j = nlohmann::json::parse(w.text());
  CHECK(j[0] == "q\"b\\s/");
  CHECK(j[1] == "tab\tnl\n\x01");
}

TEST_CASE("isUtf8 tells the strings JsonWriter would alter") {
  CHECK(isUtf8(""));
  CHECK(isUtf8("/var/lib/bundle"));
  CHECK(isUtf8("/b\xc3\xbcndle"));            // ü
  CHECK(isUtf8("\xf0\x9f\x93\xa6"));          // a 4-byte sequence
  CHECK_FALSE(isUtf8("/b\xfcndle"));          // Latin-1 ü
  CHECK_FALSE(isUtf8("\xc3"));                // cut short
  CHECK_FALSE(isUtf8("\xed\xa0\x80"));        // a surrogate
}
