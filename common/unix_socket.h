// Unix stream sockets on a path: never abstract (containerd's CVE-2020-15257
// came from an abstract socket any process in the net namespace could reach).
#pragma once

#include "common/asio.h"

#include <string>

namespace berth {

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
