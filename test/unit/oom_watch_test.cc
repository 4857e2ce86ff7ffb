// The OOM watch's wake-ups, on a cgroup tree of our own: the kernel's part
// (notifying a change of memory.events, or of memory.oom_control through
// cgroup.event_control) is not ours to test; what we do with it is.
#include <catch2/catch.hpp>

#include "shim/oom_watch.h"
#include "temp_dir.h"

#include <sys/stat.h>

#include <chrono>
#include <fstream>

using namespace berth;
using namespace berth::shim;

namespace {
void writeInPlace(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);  // the same inode: a modification
  out << text;
}

// Runs the loop until `done` or `limit`.
template <typename Done>
void runUntil(asio::io_context& io, Done done, std::chrono::milliseconds limit = std::chrono::seconds(2)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < until) {
    io.run_one_for(std::chrono::milliseconds(50));
    io.restart();
  }
}
}  // namespace

TEST_CASE("cgroup v2: an OOM kill counted in memory.events is reported at once, not at the exit") {
  test::TempDir root;
  REQUIRE(::mkdir((root.path + "/ns").c_str(), 0700) == 0);
  REQUIRE(::mkdir((root.path + "/ns/t1").c_str(), 0700) == 0);
  const std::string events = root.path + "/ns/t1/memory.events";
  writeInPlace(events, "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");

  asio::io_context io;
  int ooms = 0;
  OomWatch watch(io, [&] { ++ooms; }, root.path);
  CgroupPaths paths;
  paths.unified = "/ns/t1";
  watch.arm(paths);

  // An OOM without a kill (yet): nothing to report.
  writeInPlace(events, "low 0\nhigh 0\nmax 1\noom 1\noom_kill 0\n");
  runUntil(io, [] { return false; }, std::chrono::milliseconds(300));
  CHECK(ooms == 0);
  // The kill: one report, without anyone calling check().
  writeInPlace(events, "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n");
  runUntil(io, [&] { return ooms > 0; });
  CHECK(ooms == 1);
  // Two more kills between two looks: one report each time the count rises.
  writeInPlace(events, "low 0\nhigh 0\nmax 2\noom 3\noom_kill 3\n");
  runUntil(io, [&] { return ooms > 1; });
  CHECK(ooms == 2);
}
