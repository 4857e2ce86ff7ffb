// Cap'n Proto RPC over unix sockets, on the one Asio loop.
//
// capnp's TwoPartyServer has no per-connection disconnect hook, so each
// connection is an RpcConnection we own and track ourselves.
#pragma once

#include "common/asio_stream.h"
#include "common/kj_loop.h"
#include "common/unix_socket.h"

#include <capnp/rpc-twoparty.h>

#include <functional>
#include <list>
#include <memory>
#include <string>

namespace berth {

class RpcConnection {
 public:
  // `bootstrap` is what this side offers the peer (may be a null capability).
  RpcConnection(kj::Own<AsioStream> stream, capnp::Capability::Client bootstrap, bool serverSide);

  // The peer's bootstrap capability.
  template <typename T>
  typename T::Client peer() {
    return client_.bootstrap().castAs<T>();
  }
  // Resolves when the peer goes away (close, crash, kill -9).
  kj::Promise<void> onDisconnect() { return client_.onDisconnect(); }
  uid_t peerUid() const { return peerUid_; }

 private:
  kj::Own<AsioStream> stream_;
  uid_t peerUid_;
  capnp::TwoPartyClient client_;
};

// Connects to a unix socket and returns the connection (unavailable if nobody listens).
std::unique_ptr<RpcConnection> connectRpc(asio::io_context& io, const std::string& path);

// Serves a capability on a unix socket to every peer running as our own uid;
// other peers are refused (closed at once).
class RpcListener {
 public:
  using Factory = std::function<capnp::Capability::Client()>;
  RpcListener(KjLoop& loop, const std::string& path, Factory bootstrap);
  // Serves on an already listening socket bound at `path`.
  RpcListener(KjLoop& loop, UnixAcceptor acceptor, const std::string& path, Factory bootstrap);
  ~RpcListener();

  // Called after a peer connects / goes away.
  std::function<void(RpcConnection&)> onConnect;
  std::function<void()> onDisconnect;
  // For the connections accepted from now on.
  StreamOptions streamOptions;

  size_t connectionCount() const { return connections_.size(); }
  const std::string& path() const { return path_; }
  // Stops accepting; the socket file is removed unless `removeSocket` is false.
  void close(bool removeSocket = true);

 private:
  void acceptNext();

  KjLoop& loop_;
  std::string path_;
  Factory bootstrap_;
  UnixAcceptor acceptor_;
  uint64_t acceptFailures_ = 0;  // in a row (each retried after 100 ms)
  std::list<std::unique_ptr<RpcConnection>> connections_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth
