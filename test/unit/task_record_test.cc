// berthd's task record: written without a JSON tree, byte for byte what the
// tree wrote before (sorted members), and read back whole.
#include <catch2/catch.hpp>

#include "manager/task_record.h"

#include <nlohmann/json.hpp>

using namespace berth;

namespace {

// The record as the nlohmann tree wrote it until the JsonWriter did.
std::string treeJson(const TaskRecord& r) {
  using nlohmann::json;
  json j = {
      {"bundle", r.bundle},
      {"runtime", r.runtime},
      {"io",
       {{"stdin", r.io.stdinPath}, {"stdout", r.io.stdoutPath}, {"stderr", r.io.stderrPath},
        {"terminal", r.io.terminal}}},
      {"created_at", r.createdAtNs},
      {"last_seq", r.lastSeq},
  };
  auto exitJson = [](const Exit& e) {
    return json{{"pid", e.pid}, {"wait_status", e.status.waitStatus()}, {"exited_at_ns", e.exitedAtNs}};
  };
  if (r.lostExit) j["lost_exit"] = exitJson(*r.lostExit);
  j["created"] = r.created;
  if (r.exit) j["exit"] = exitJson(*r.exit);
  if (r.deletePublished) j["delete_published"] = true;
  if (r.deleting) j["deleting"] = true;
  if (r.lastStatus != Status::Unknown) {
    j["status"] = statusName(r.lastStatus);
    j["pid"] = r.lastPid;
  }
  return j.dump() + "\n";
}

TaskRecord fullRecord() {
  TaskRecord r;
  r.bundle = "/var/lib/b \"q\"/bündle";
  r.runtime = "/usr/sbin/runc";
  r.io = {"/tmp/in", "/tmp/out", "", true};
  r.createdAtNs = 1700000000123456789;
  r.lastSeq = 18446744073709551615ull;
  r.lostExit = Exit{42, ExitStatus::signaled(9), 1700000000000000007};
  r.created = false;
  r.exit = Exit{43, ExitStatus::exited(3), -1};
  r.deletePublished = true;
  r.deleting = true;
  r.lastStatus = Status::Stopped;
  r.lastPid = 4294967295u;
  return r;
}

}  // namespace

TEST_CASE("task record: the same bytes as the JSON tree wrote") {
  TaskRecord bare;
  CHECK(bare.toJson() == treeJson(bare));
  TaskRecord running;
  running.bundle = "/b";
  running.lastStatus = Status::Running;
  running.lastPid = 7;
  running.lastSeq = 2;
  CHECK(running.toJson() == treeJson(running));
  TaskRecord full = fullRecord();
  CHECK(full.toJson() == treeJson(full));
}

TEST_CASE("task record: read back whole") {
  TaskRecord r = fullRecord();
  TaskRecord back = TaskRecord::fromJson(r.toJson(), "/x/task");
  CHECK(back.toJson() == r.toJson());
  CHECK(back.bundle == r.bundle);
  CHECK(back.lostExit->status.kind == ExitStatus::Kind::Signaled);
  CHECK(back.exit->exitedAtNs == -1);
  CHECK(back.lastPid == 4294967295u);
  CHECK_THROWS(TaskRecord::fromJson("{\"bundle\":", "/x/task"));
}
