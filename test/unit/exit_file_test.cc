#include <catch2/catch.hpp>

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <set>
#include <string>

#include "common/fsutil.h"
#include "shim/exit_file.h"
#include "test/unit/temp_dir.h"

using berth::readFile;
using berth::shim::ExitFile;

namespace {

using Dir = berth::test::TempDir;

std::set<std::string> names(const std::string& dir) {
  std::set<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.insert(n);
    }
    ::closedir(d);
  }
  return out;
}

}  // namespace

TEST_CASE("an exit file prepared at start holds only a hidden temp until the exit") {
  Dir d;
  std::string exitDir = d.path + "/exit";
  ExitFile f;
  f.prepare(exitDir, "init");
  CHECK(names(exitDir) == std::set<std::string>{".init.new"});  // no "init": not exited
  f.write("42 2304 17\n");
  CHECK(names(exitDir) == std::set<std::string>{"init"});
  CHECK(readFile(exitDir + "/init") == std::optional<std::string>("42 2304 17\n"));
}

TEST_CASE("an exit file never written leaves nothing, and one never prepared is still written") {
  Dir d;
  std::string exitDir = d.path + "/exit";
  {
    ExitFile f;
    f.prepare(exitDir, "e1");
    ExitFile moved = std::move(f);  // a Process is moved into place
    CHECK(names(exitDir) == std::set<std::string>{".e1.new"});
  }
  CHECK(names(exitDir).empty());  // deleted without an exit: no exit file

  // Preparing failed (a file where the directory goes): write() takes the
  // slow path once the way is clear.
  std::string blocked = d.path + "/blocked";
  berth::replaceFile(blocked, "x");
  ExitFile late;
  late.prepare(blocked + "/exit", "init");
  REQUIRE(::unlink(blocked.c_str()) == 0);
  late.write("1 0 1\n");
  CHECK(readFile(blocked + "/exit/init") == std::optional<std::string>("1 0 1\n"));
}
