#include "common/rpc.h"

#include "common/log.h"

#include <unistd.h>

namespace berth {

RpcConnection::RpcConnection(kj::Own<AsioStream> stream, capnp::Capability::Client bootstrap,
                             bool serverSide)
    : stream_(kj::mv(stream)),
      peerUid_(stream_->peerUid()),
      client_(*stream_, kj::mv(bootstrap),
              serverSide ? capnp::rpc::twoparty::Side::SERVER
                         : capnp::rpc::twoparty::Side::CLIENT) {}

std::unique_ptr<RpcConnection> connectRpc(asio::io_context& io, const std::string& path) {
  return std::make_unique<RpcConnection>(makeStream(connectUnix(io, path)), nullptr, false);
}

RpcListener::RpcListener(KjLoop& loop, const std::string& path, Factory bootstrap)
    : loop_(loop), path_(path), bootstrap_(std::move(bootstrap)),
      acceptor_(listenUnix(loop.io(), path)) {
  acceptNext();
}

RpcListener::RpcListener(KjLoop& loop, UnixAcceptor acceptor, const std::string& path,
                         Factory bootstrap)
    : loop_(loop), path_(path), bootstrap_(std::move(bootstrap)), acceptor_(std::move(acceptor)) {
  acceptNext();
}

RpcListener::~RpcListener() {
  *alive_ = false;
  close();
}

void RpcListener::close(bool removeSocket) {
  if (acceptor_.is_open()) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    if (removeSocket) ::unlink(path_.c_str());
  }
}

void RpcListener::acceptNext() {
  acceptor_.async_accept([this, alive = alive_](const boost::system::error_code& ec,
                                                UnixSocket socket) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of fds (EMFILE, ENFILE) or memory the accept fails at once,
      // every time, while the connection waits in the backlog: looping
      // straight back took a CPU and flooded the log. Wait, then retry.
      if (++acceptFailures_ == 1 || acceptFailures_ % 100 == 0) {
        BERTH_LOG(warn) << "accept on " << path_ << ": " << ec.message() << " (" << acceptFailures_
                        << " in a row; retrying every 100 ms)";
      }
      auto timer = std::make_shared<asio::steady_timer>(loop_.io(), std::chrono::milliseconds(100));
      timer->async_wait([this, alive, timer](const boost::system::error_code& tec) {
        if (!tec && *alive && acceptor_.is_open()) acceptNext();
      });
      return;
    }
    acceptFailures_ = 0;
    acceptNext();
    try {
      auto stream = makeStream(std::move(socket), streamOptions);
      // SO_PEERCRED: only our own uid may drive us (the socket is 0600 too).
      uid_t uid = stream->peerUid();
      if (uid != ::geteuid()) {
        BERTH_LOG(warn) << "refused a connection on " << path_ << " from uid " << uid;
        return;
      }
      connections_.push_back(std::make_unique<RpcConnection>(kj::mv(stream), bootstrap_(), true));
      auto it = std::prev(connections_.end());
      if (onConnect) onConnect(**it);
      loop_.detach((*it)->onDisconnect().catch_([](kj::Exception&&) {}).then([this, it, alive]() {
        if (!*alive) return;
        // Destroy later: we are inside the connection's own promise chain.
        auto doomed = std::shared_ptr<RpcConnection>(std::move(*it));
        connections_.erase(it);
        loop_.detach(kj::evalLater([doomed]() {}), "drop connection");
        if (onDisconnect) onDisconnect();
      }), "rpc connection");
    } catch (std::exception& e) {
      BERTH_LOG(warn) << "connection on " << path_ << ": " << e.what();
    }
  });
}

}  // namespace berth
