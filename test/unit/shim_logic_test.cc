// The shim's pure logic: the status machine, cgroup file parsing, exec env
// merging and the OOM counter.
#include <catch2/catch.hpp>

#include "common/errors.h"
#include "common/wire_status.h"
#include "shim/cgroup_paths.h"
#include "shim/oom_watch.h"
#include "shim/status.h"
#include "shim/task.h"

using namespace berth;
using namespace berth::shim;

TEST_CASE("The status machine allows the containerd lifecycle") {
  Status s = Status::Created;
  s = transitionOrThrow(s, Action::Start);
  CHECK(s == Status::Running);
  s = transitionOrThrow(s, Action::Pause);
  CHECK(s == Status::Pausing);
  s = transitionOrThrow(s, Action::PauseDone);
  CHECK(s == Status::Paused);
  s = transitionOrThrow(s, Action::Resume);
  CHECK(s == Status::Running);
  s = transitionOrThrow(s, Action::Exit);
  CHECK(s == Status::Stopped);
  s = transitionOrThrow(s, Action::Delete);
  CHECK(s == Status::Deleted);
}

TEST_CASE("A refused transition is a sentence with failed-precondition") {
  try {
    transitionOrThrow(Status::Stopped, Action::Start);
    FAIL("started a stopped process");
  } catch (Error& e) {
    CHECK(e.code() == Code::FailedPrecondition);
    CHECK(e.message() == "cannot start a stopped process");
  }
  Status to;
  CHECK_FALSE(transition(Status::Running, Action::Delete, to));
  CHECK_FALSE(transition(Status::Running, Action::Resume, to));
  CHECK_FALSE(transition(Status::Paused, Action::Pause, to));
  CHECK_FALSE(transition(Status::Deleted, Action::Kill, to));
  CHECK_FALSE(transition(Status::Stopped, Action::Exec, to));
  CHECK(transition(Status::Created, Action::Delete, to));
  CHECK(to == Status::Deleted);
}

TEST_CASE("cgroup v1 paths are read per controller, the empty v2 mount is ignored") {
  auto p = parseCgroupFile(
      "12:pids:/berth/default/t1\n"
      "4:cpu,cpuacct:/berth/default/t1\n"
      "3:memory:/berth/default/t1\n"
      "1:name=systemd:/x\n"
      "0::/\n");
  CHECK(p.v1.at("memory") == "/berth/default/t1");
  CHECK(p.v1.at("cpuacct") == "/berth/default/t1");
  CHECK(p.v1.at("cpu") == "/berth/default/t1");
  CHECK(p.v1.at("pids") == "/berth/default/t1");
  CHECK_FALSE(p.unified.has_value());
}

TEST_CASE("A pure cgroup v2 host gives the unified path") {
  auto p = parseCgroupFile("0::/berth/ns/id\n");
  CHECK(p.v1.empty());
  REQUIRE(p.unified.has_value());
  CHECK(*p.unified == "/berth/ns/id");
}

TEST_CASE("The OOM kill counter is read from oom_control and memory.events") {
  CHECK(parseOomKill("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n") == 3);
  CHECK(parseOomKill("low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\n") == 1);
  CHECK(parseOomKill("oom 2\n") == 0);  // "oom" is not a kill
}

TEST_CASE("An exec's env replaces the task's same keys and keeps the others") {
  auto base = nlohmann::json::array({"PATH=/bin:/usr/bin", "TERM=xterm", "A=1"});
  auto merged = mergeEnv(base, nlohmann::json::array({"A=2", "FOO=bar"}));
  CHECK(merged == nlohmann::json::array({"PATH=/bin:/usr/bin", "TERM=xterm", "A=2", "FOO=bar"}));
}

TEST_CASE("The contract's exit status is the code or 128 plus the signal") {
  CHECK(contractExitStatus(7 << 8) == 7);
  CHECK(contractExitStatus(9) == 137);
  CHECK(contractExitStatus(15) == 143);
}
