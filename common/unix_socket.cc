#include "common/unix_socket.h"

#include "common/errors.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

namespace berth {

namespace {
sockaddr_un addressOf(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path[0] == '\0') throw invalidArgument("socket path is empty");
  if (path.size() >= sizeof(addr.sun_path)) {
    throw invalidArgument("socket path \"" + path + "\" is longer than " +
                          std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  path.copy(addr.sun_path, path.size());
  return addr;
}

// connect(2) on a fresh CLOEXEC socket; returns the fd or -errno.
int rawConnect(const std::string& path) {
  sockaddr_un addr = addressOf(path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  while (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}
}  // namespace

bool unixSocketAnswers(const std::string& path) {
  int fd = rawConnect(path);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

UnixAcceptor listenUnix(asio::io_context& io, const std::string& path) {
  return UnixAcceptor(io, asio::local::stream_protocol(), listenUnixFd(path));
}

int listenUnixFd(const std::string& path) {
  sockaddr_un addr = addressOf(path);
  if (unixSocketAnswers(path)) {
    throw alreadyExists("a server already listens on " + path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw systemError("unlink stale socket " + path, errno);
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw systemError("socket(AF_UNIX)", errno);
  // Bind under umask 0177 so the socket is 0600 from its first instant.
  mode_t old = ::umask(0177);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  ::umask(old);
  if (rc != 0) {
    ::close(fd);
    throw systemError("bind " + path, err);
  }
  if (::listen(fd, SOMAXCONN) != 0) {
    err = errno;
    ::close(fd);
    throw systemError("listen " + path, err);
  }
  return fd;
}

UnixSocket connectUnix(asio::io_context& io, const std::string& path) {
  int fd = rawConnect(path);
  if (fd < 0) {
    throw unavailable("cannot connect to " + path + ": " + strerror(-fd));
  }
  return UnixSocket(io, asio::local::stream_protocol(), fd);
}

}  // namespace berth
