// notify_listen SOCKET SECONDS — a stand-in for systemd's notify socket:
// binds a datagram socket at SOCKET, prints each message it receives on its
// own line, and exits once one contains READY=1 (0), or after SECONDS (1).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: notify_listen SOCKET SECONDS\n");
    return 2;
  }
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, argv[1], sizeof(addr.sun_path) - 1);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("notify_listen: bind");
    return 2;
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[2]));
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 1;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) continue;
    std::string msg(buf, static_cast<size_t>(n));
    std::printf("%s\n", msg.c_str());
    std::fflush(stdout);
    if (msg.find("READY=1") != std::string::npos) return 0;
  }
}
