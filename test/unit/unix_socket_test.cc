#include <catch2/catch.hpp>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/unix_socket.h"

using namespace berth;

TEST_CASE("a socket path longer than sun_path is bound and reached through its directory") {
  char tmpl[] = "/tmp/berth-unit-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  std::string dir = std::string(tmpl) + "/" + std::string(100, 'd');
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  std::string path = dir + "/shim.sock";
  REQUIRE(path.size() > 107);

  CHECK_FALSE(unixSocketAnswers(path));  // nothing there yet: no throw either
  int fd = listenUnixFd(path);
  struct stat st {};
  CHECK(::stat(path.c_str(), &st) == 0);  // bound at its own name
  CHECK(unixSocketAnswers(path));
  {
    SocketPath forChild(path);
    std::string other = forChild.forOthers();
    CHECK(other.rfind("/proc/" + std::to_string(::getpid()) + "/fd/", 0) == 0);
    CHECK(unixSocketAnswers(other));  // the path a child (runc) is given
  }
  CHECK_THROWS(listenUnixFd(path));  // a live server is already-exists
  ::close(fd);
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
  ::rmdir(tmpl);
}
