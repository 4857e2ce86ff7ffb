// The floor of bench/exit-latency: the least any runtime can do between a
// `kill -9` and a line a client reads. It forks a child that only waits,
// writes the child's pid to PIDFILE, and when the child dies prints
// "exit PID" to stdout at once (the parent blocks in waitpid, no loop), then
// forks the next one. No container, no namespaces: what is left is the
// kernel's exit and two wake-ups (this parent, the reader).
//
//   exit_floor PIDFILE
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: exit_floor PIDFILE\n");
    return 2;
  }
  std::string pidFile = argv[1], temp = pidFile + ".tmp";
  for (;;) {
    pid_t child = ::fork();
    if (child < 0) return 1;
    if (child == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // ended with its parent, by the bench
      for (;;) ::pause();
    }
    if (FILE* f = std::fopen(temp.c_str(), "w")) {
      std::fprintf(f, "%d\n", static_cast<int>(child));
      std::fclose(f);
      std::rename(temp.c_str(), pidFile.c_str());
    }
    int status = 0;
    if (::waitpid(child, &status, 0) != child) return 1;
    std::printf("exit %d\n", static_cast<int>(child));
    std::fflush(stdout);
  }
}
