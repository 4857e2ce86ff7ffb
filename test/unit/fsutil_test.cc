#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>

#include "common/errors.h"
#include "common/fsutil.h"
#include "test/unit/temp_dir.h"

using namespace berth;

namespace {

using berth::test::TempDir;

std::set<std::string> listDir(const std::string& path) {
  std::set<std::string> names;
  DIR* d = ::opendir(path.c_str());
  REQUIRE(d != nullptr);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.insert(n);
  }
  ::closedir(d);
  return names;
}

mode_t modeOf(const std::string& path) {
  struct stat st{};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void writePlain(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  ::close(fd);
}

// Restores the umask when a test is done with it.
struct Umask {
  mode_t old;
  explicit Umask(mode_t m) : old(::umask(m)) {}
  ~Umask() { ::umask(old); }
};

}  // namespace

TEST_CASE("atomicWrite creates the file and leaves no temp file behind") {
  TempDir t;
  std::string p = t.path + "/state.json";
  atomicWrite(p, "{\"a\":1}");
  CHECK(readFile(p) == std::optional<std::string>("{\"a\":1}"));
  CHECK(listDir(t.path) == std::set<std::string>{"state.json"});
}

TEST_CASE("atomicWrite replaces existing content completely") {
  TempDir t;
  std::string p = t.path + "/f";
  atomicWrite(p, "a much longer first version");
  atomicWrite(p, "short");
  CHECK(readFile(p) == std::optional<std::string>("short"));
  CHECK(listDir(t.path) == std::set<std::string>{"f"});
}

TEST_CASE("atomicWrite gives mode 0600 by default whatever the umask") {
  TempDir t;
  Umask u(0);  // nothing masked: the mode must come from atomicWrite itself
  std::string p = t.path + "/f";
  atomicWrite(p, "x");
  CHECK(modeOf(p) == 0600);
  atomicWrite(p + "2", "x", 0640);
  CHECK(modeOf(p + "2") == 0640);
  {
    Umask strict(0777);
    atomicWrite(p + "3", "x", 0644);
  }
  CHECK(modeOf(p + "3") == 0644);
}

TEST_CASE("a stale temp file from a crashed writer does not break the next write") {
  TempDir t;
  std::string p = t.path + "/exit";
  atomicWrite(p, "old");
  // What a writer killed between open and rename leaves: a partial temp file.
  writePlain(p + ".tmp-crashed00001", "partial ne");
  ::chmod((p + ".tmp-crashed00001").c_str(), 0);
  CHECK(readFile(p) == std::optional<std::string>("old"));
  atomicWrite(p, "new content");
  CHECK(readFile(p) == std::optional<std::string>("new content"));
  CHECK(listDir(t.path) == std::set<std::string>{"exit", "exit.tmp-crashed00001"});
}

TEST_CASE("atomicWrite into a missing directory reports the path") {
  TempDir t;
  try {
    atomicWrite(t.path + "/missing/f", "x");
    FAIL("atomicWrite succeeded");
  } catch (const Error& e) {
    CHECK(e.code() == Code::Internal);
    CHECK(e.message().find(t.path + "/missing/f") != std::string::npos);
    CHECK(e.message().find("errno " + std::to_string(ENOENT)) != std::string::npos);
  }
}

TEST_CASE("readFile of a missing file is nullopt") {
  TempDir t;
  CHECK_FALSE(readFile(t.path + "/nope").has_value());
  CHECK_FALSE(readFile(t.path + "/nope/deeper").has_value());  // missing parent is ENOENT too
}

TEST_CASE("readFile of a directory throws instead of returning nullopt") {
  TempDir t;
  CHECK_THROWS_AS(readFile(t.path + "/"), Error);
}

TEST_CASE("readFile of a FIFO throws at once instead of blocking in open") {
  TempDir t;
  const std::string fifo = t.path + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  try {
    readFile(fifo);  // with no writer, a blocking open would never return
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Code::InvalidArgument);
    CHECK(e.message() == fifo + " is not a regular file");
  }
}

TEST_CASE("readFile refuses a file larger than its limit, also one whose size reads 0") {
  TempDir t;
  atomicWrite(t.path + "/f", "0123456789");
  CHECK(readFile(t.path + "/f", 10) == std::optional<std::string>("0123456789"));
  CHECK_THROWS_AS(readFile(t.path + "/f", 9), Error);
  // /proc files report size 0: the limit applies to what is read
  CHECK_THROWS_AS(readFile("/proc/self/maps", 1), Error);
}

TEST_CASE("readFile reads binary data including NUL bytes") {
  TempDir t;
  std::string data("a\0b\xff", 4);
  atomicWrite(t.path + "/bin", data);
  CHECK(readFile(t.path + "/bin") == std::optional<std::string>(data));
}

TEST_CASE("makeDirs creates every level with exactly 0700 under umask 0") {
  TempDir t;
  Umask u(0);
  std::string p = t.path + "/a/b/c";
  makeDirs(p);
  CHECK(modeOf(t.path + "/a") == 0700);
  CHECK(modeOf(t.path + "/a/b") == 0700);
  CHECK(modeOf(p) == 0700);
}

TEST_CASE("makeDirs applies the mode even under a restrictive umask") {
  TempDir t;
  Umask u(0777);
  makeDirs(t.path + "/x/y/", 0711);
  CHECK(modeOf(t.path + "/x") == 0711);
  CHECK(modeOf(t.path + "/x/y") == 0711);
}

TEST_CASE("makeDirs leaves existing directories alone and is idempotent") {
  TempDir t;
  REQUIRE(::mkdir((t.path + "/e").c_str(), 0755) == 0);
  REQUIRE(::chmod((t.path + "/e").c_str(), 0755) == 0);
  makeDirs(t.path + "/e/f");
  makeDirs(t.path + "/e/f");
  CHECK(modeOf(t.path + "/e") == 0755);
  CHECK(modeOf(t.path + "/e/f") == 0700);
}

TEST_CASE("makeDirs fails when a component is a file") {
  TempDir t;
  writePlain(t.path + "/file", "x");
  CHECK_THROWS_AS(makeDirs(t.path + "/file/sub"), Error);
  CHECK_THROWS_AS(makeDirs(t.path + "/file/sub/deeper"), Error);
  CHECK_THROWS_AS(makeDirs(t.path + "/file"), Error);
}

TEST_CASE("makeDirs makes a relative path's missing levels") {
  TempDir t;
  struct Cwd {  // back to the old directory however the test ends
    char old[4096];
    Cwd() { REQUIRE(::getcwd(old, sizeof old) != nullptr); }
    ~Cwd() { (void)::chdir(old); }
  } cwd;
  REQUIRE(::chdir(t.path.c_str()) == 0);
  makeDirs("r/s//t/");
  CHECK(::access("r/s/t", F_OK) == 0);
}

TEST_CASE("removeTree removes nested directories and files") {
  TempDir t;
  std::string root = t.path + "/tree";
  makeDirs(root + "/a/b/c");
  writePlain(root + "/a/f1", "1");
  writePlain(root + "/a/b/c/f2", "2");
  REQUIRE(::mkfifo((root + "/a/fifo").c_str(), 0600) == 0);
  removeTree(root);
  CHECK_FALSE(pathExists(root));
  CHECK(listDir(t.path).empty());
}

TEST_CASE("removeTree of a missing path is not an error") {
  TempDir t;
  CHECK_NOTHROW(removeTree(t.path + "/missing"));
  CHECK_NOTHROW(removeTree(t.path + "/missing/deeper"));
}

TEST_CASE("removeTree removes a symlink but never its target") {
  TempDir t;
  std::string target = t.path + "/target";
  makeDirs(target + "/inner");
  writePlain(target + "/keep", "precious");
  writePlain(target + "/inner/keep2", "precious");

  std::string root = t.path + "/tree";
  makeDirs(root + "/sub");
  REQUIRE(::symlink(target.c_str(), (root + "/sub/link-to-dir").c_str()) == 0);
  REQUIRE(::symlink((target + "/keep").c_str(), (root + "/link-to-file").c_str()) == 0);
  removeTree(root);
  CHECK_FALSE(pathExists(root));
  CHECK(readFile(target + "/keep") == std::optional<std::string>("precious"));
  CHECK(readFile(target + "/inner/keep2") == std::optional<std::string>("precious"));

  // The path itself being a symlink: the link goes, the target stays.
  std::string top = t.path + "/toplink";
  REQUIRE(::symlink(target.c_str(), top.c_str()) == 0);
  removeTree(top);
  CHECK_FALSE(pathExists(top));
  CHECK(pathExists(target + "/keep"));
}

TEST_CASE("removeTree refuses to descend into a mount point") {
  TempDir t;
  std::string root = t.path + "/tree";
  makeDirs(root + "/mnt");
  // Mount in a child's private mount namespace so nothing leaks to the host.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) < 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0 ||
        ::mount("tmpfs", (root + "/mnt").c_str(), "tmpfs", 0, nullptr) < 0)
      ::_exit(77);
    int fd = ::open((root + "/mnt/inside").c_str(), O_WRONLY | O_CREAT, 0600);
    if (fd < 0) ::_exit(3);
    ::close(fd);
    try {
      removeTree(root);
      ::_exit(1);  // crossed the mount
    } catch (const Error& e) {
      if (e.code() != Code::FailedPrecondition) ::_exit(2);
    }
    struct stat st{};
    ::_exit(::stat((root + "/mnt/inside").c_str(), &st) == 0 ? 0 : 4);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) {
    WARN("cannot create a mount namespace here; mount point check not exercised");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("pathExists sees files, directories and dangling symlinks") {
  TempDir t;
  CHECK(pathExists(t.path));
  CHECK_FALSE(pathExists(t.path + "/nope"));
  writePlain(t.path + "/f", "");
  CHECK(pathExists(t.path + "/f"));
  CHECK_FALSE(pathExists(t.path + "/f/under-a-file"));
  REQUIRE(::symlink("/nonexistent-berth-target", (t.path + "/dangling").c_str()) == 0);
  CHECK(pathExists(t.path + "/dangling"));
}

TEST_CASE("overwriteInPlace keeps the inode, pads shorter text and falls back for new or large files") {
  TempDir dir;
  std::string f = dir.path + "/record";
  overwriteInPlace(f, "{\"a\":1}");  // missing: created
  REQUIRE(readFile(f) == std::optional<std::string>("{\"a\":1}"));
  struct stat before {};
  REQUIRE(::stat(f.c_str(), &before) == 0);

  overwriteInPlace(f, "{\"a\":12345}");  // longer
  REQUIRE(readFile(f) == std::optional<std::string>("{\"a\":12345}"));
  overwriteInPlace(f, "{}");  // shorter: spaces to the old length
  REQUIRE(readFile(f) == std::optional<std::string>("{}         "));
  struct stat after {};
  REQUIRE(::stat(f.c_str(), &after) == 0);
  CHECK(after.st_ino == before.st_ino);  // rewritten, not replaced
  CHECK(listDir(dir.path) == std::set<std::string>{"record"});

  std::string big(5000, 'x');
  overwriteInPlace(f, big);  // beyond a page: replaced whole
  REQUIRE(readFile(f) == std::optional<std::string>(big));
  overwriteInPlace(f, "{}");  // a large file is replaced, not padded
  REQUIRE(readFile(f) == std::optional<std::string>("{}"));
  CHECK(listDir(dir.path) == std::set<std::string>{"record"});
}
