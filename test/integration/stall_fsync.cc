// LD_PRELOAD for tests: a disk that stalls. In berthd only, fsync() waits
// while the file named by $BERTH_TEST_FSYNC_STALL exists (at most 30 s), after
// creating NAME.hit to say it has begun waiting; then it does the real fsync.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

extern "C" int fsync(int fd) {
  using Fsync = int (*)(int);
  static Fsync real = reinterpret_cast<Fsync>(dlsym(RTLD_NEXT, "fsync"));
  const char* flag = std::getenv("BERTH_TEST_FSYNC_STALL");
  if (flag && std::strcmp(program_invocation_short_name, "berthd") == 0 && ::access(flag, F_OK) == 0) {
    char hit[4096];
    std::snprintf(hit, sizeof hit, "%s.hit", flag);
    int h = ::open(hit, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (h >= 0) ::close(h);
    for (int i = 0; i < 3000 && ::access(flag, F_OK) == 0; ++i) {
      timespec ts{0, 10 * 1000 * 1000};
      ::nanosleep(&ts, nullptr);
    }
  }
  return real(fd);
}
