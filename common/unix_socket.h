// Unix stream sockets on a path: never abstract (containerd's CVE-2020-15257
// came from an abstract socket any process in the net namespace could reach).
#pragma once

#include "common/asio.h"

#include <sys/un.h>

#include <string>

namespace berth {

// A unix socket path as bind(2) and connect(2) take it. sun_path holds 107
// bytes; a longer path (a deep state dir, a long namespace and id) is reached
// through its directory, opened here: /proc/self/fd/N/NAME.
class SocketPath {
 public:
  explicit SocketPath(const std::string& path);
  ~SocketPath();
  SocketPath(const SocketPath&) = delete;
  SocketPath& operator=(const SocketPath&) = delete;

  const sockaddr_un& address() const { return addr_; }
  // errno of opening a long path's directory (0: none); the address is unusable.
  int error() const { return error_; }
  // The path for another process (a child: runc) to connect to while this
  // object lives: PATH itself, or /proc/OURPID/fd/N/NAME when it is long.
  std::string forOthers() const;

 private:
  sockaddr_un addr_{};
  std::string path_, name_;
  int dirFd_ = -1;
  int error_ = 0;
};

using UnixSocket = asio::local::stream_protocol::socket;
using UnixAcceptor = asio::local::stream_protocol::acceptor;

// Binds and listens on `path` with mode 0600. A stale socket file (nobody
// accepts on it) is replaced; a live one is already-exists.
UnixAcceptor listenUnix(asio::io_context& io, const std::string& path);
// The same as a raw listening fd (CLOEXEC), for a process that binds before
// its loop exists (the shim binds, then daemonizes).
int listenUnixFd(const std::string& path);

// Connects to `path`; unavailable (with errno's words) if nobody listens.
UnixSocket connectUnix(asio::io_context& io, const std::string& path);

// True when a server accepts connections on `path` right now.
bool unixSocketAnswers(const std::string& path);

}  // namespace berth
