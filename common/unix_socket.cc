#include "common/unix_socket.h"

#include "common/errors.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

namespace berth {

SocketPath::SocketPath(const std::string& path) : path_(path) {
  addr_.sun_family = AF_UNIX;
  if (path.empty() || path[0] == '\0') throw invalidArgument("socket path is empty");
  std::string usable = path;
  if (path.size() >= sizeof(addr_.sun_path)) {
    name_ = path.substr(path.rfind('/') + 1);  // all of it when there is no '/'
    dirFd_ = ::open(dirName(path).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirFd_ < 0) {
      error_ = errno;  // as connect(2) or bind(2) on the path would have failed
      return;
    }
    usable = "/proc/self/fd/" + std::to_string(dirFd_) + "/" + name_;
    // forOthers() is longer by at most the pid's digits over "self".
    if (forOthers().size() >= sizeof(addr_.sun_path) || usable.size() >= sizeof(addr_.sun_path)) {
      ::close(dirFd_);
      dirFd_ = -1;
      throw invalidArgument("socket name \"" + name_ + "\" is too long");
    }
  }
  usable.copy(addr_.sun_path, usable.size());
}

SocketPath::~SocketPath() {
  if (dirFd_ >= 0) ::close(dirFd_);
}

std::string SocketPath::forOthers() const {
  if (dirFd_ < 0) return path_;
  return "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(dirFd_) + "/" + name_;
}

namespace {
// connect(2) on a fresh CLOEXEC socket; returns the fd or -errno.
int rawConnect(const SocketPath& at) {
  if (at.error()) return -at.error();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  while (::connect(fd, reinterpret_cast<const sockaddr*>(&at.address()), sizeof(sockaddr_un)) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

bool answers(const SocketPath& at) {
  int fd = rawConnect(at);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}
}  // namespace

bool unixSocketAnswers(const std::string& path) { return answers(SocketPath(path)); }

UnixAcceptor listenUnix(asio::io_context& io, const std::string& path) {
  return UnixAcceptor(io, asio::local::stream_protocol(), listenUnixFd(path));
}

int listenUnixFd(const std::string& path) {
  SocketPath at(path);
  if (at.error()) throw systemError("bind " + path, at.error());
  if (answers(at)) {
    throw alreadyExists("a server already listens on " + path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw systemError("unlink stale socket " + path, errno);
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw systemError("socket(AF_UNIX)", errno);
  // Bind under umask 0177 so the socket is 0600 from its first instant.
  mode_t old = ::umask(0177);
  int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&at.address()), sizeof(sockaddr_un));
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
  int fd = rawConnect(SocketPath(path));
  if (fd < 0) {
    throw unavailable("cannot connect to " + path + ": " + strerror(-fd));
  }
  return UnixSocket(io, asio::local::stream_protocol(), fd);
}

}  // namespace berth
