#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/sealed_copy.h"
#include "common/spawn.h"
#include "temp_dir.h"

using namespace berth;
using berth::test::TempDir;


TEST_CASE("makeSealedCopy copies an ELF executable into a memfd with runc's seals") {
  SealedCopy copy = makeSealedCopy("/bin/sleep");
  REQUIRE(copy.fd >= 0);
  CHECK(::fcntl(copy.fd, F_GET_SEALS) == kRuntimeCopySeals);
  CHECK(usableCopy(copy.fd));
  CHECK((::fcntl(copy.fd, F_GETFD) & FD_CLOEXEC) != 0);
  CHECK(readFile("/proc/self/fd/" + std::to_string(copy.fd)) == readFile("/bin/sleep").value());
  CHECK(copy.stamp == fileStampOf("/bin/sleep").value());
  // Sealed for good: nobody can write it, or take the seals off.
  int writeErr = ::pwrite(copy.fd, "x", 1, 0) == -1 ? errno : 0;
  CHECK(writeErr == EPERM);
  CHECK(::fcntl(copy.fd, F_ADD_SEALS, 0x0010) == -1);

  SECTION("spawn runs it as argv[0], which need not exist") {
    SpawnOptions o;
    o.argv = {"/no/such/sleep", "5"};
    o.execFd = copy.fd;
    pid_t pid = spawnProcess(o);
    char exe[256] = {};
    ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), exe, sizeof exe - 1);
    CHECK(std::string(exe) == "/memfd:sleep (deleted)");
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
  }
  SECTION("a copy whose mode changed is not one to run") {
    REQUIRE(::fchmod(copy.fd, 0) == 0);
    std::string why;
    CHECK_FALSE(usableCopy(copy.fd, &why));
    CHECK(why == "mode 0000, changed since it was made");
  }
  ::close(copy.fd);
}

TEST_CASE("usableCopy refuses a plain file and an unsealed memfd") {
  int plain = ::open("/bin/sleep", O_RDONLY | O_CLOEXEC);
  REQUIRE(plain >= 0);
  std::string why;
  CHECK_FALSE(usableCopy(plain, &why));
  CHECK_THAT(why, Catch::StartsWith("not a memfd"));
  ::close(plain);
  int memfd = ::memfd_create("x", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  REQUIRE(memfd >= 0);
  CHECK_FALSE(usableCopy(memfd, &why));
  CHECK(why == "seals 0x0, not runc's");
  int pipeFds[2];
  REQUIRE(::pipe2(pipeFds, O_CLOEXEC) == 0);
  CHECK_FALSE(usableCopy(pipeFds[0], &why));
  CHECK(why == "not a regular file");
  ::close(pipeFds[0]);
  ::close(pipeFds[1]);
  ::close(memfd);
}

TEST_CASE("makeSealedCopy refuses what is not an ELF executable") {
  TempDir dir;
  std::string script = dir.path + "/wrapper";
  replaceFile(script, "#!/bin/sh\nexec runc \"$@\"\n", 0755);
  CHECK_THROWS_WITH(makeSealedCopy(script), Catch::Contains("not an ELF executable"));
  std::string plain = dir.path + "/plain";
  replaceFile(plain, std::string("\x7f" "ELF") + "not executable", 0644);
  CHECK_THROWS_WITH(makeSealedCopy(plain), Catch::Contains("not an ELF executable"));
  CHECK_THROWS_WITH(makeSealedCopy(dir.path + "/missing"), Catch::Contains("open"));
}

TEST_CASE("fileStamp changes when a file is replaced or rewritten at its path") {
  TempDir dir;
  std::string path = dir.path + "/f";
  replaceFile(path, "one", 0755);
  std::string first = fileStampOf(path).value();
  CHECK(fileStampOf(path) == first);
  replaceFile(path, "two", 0755);  // a rename over it: another inode
  CHECK(fileStampOf(path) != first);
  std::string second = fileStampOf(path).value();
  std::ofstream(path, std::ios::app) << "more";  // in place
  CHECK(fileStampOf(path) != second);
  CHECK_FALSE(fileStampOf(dir.path + "/missing").has_value());
}
