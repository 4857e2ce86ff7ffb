#include "common/asio_stream.h"

#include "common/errors.h"

#include <kj/debug.h>

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace berth {

namespace {
// Enough for a burst of small RPC messages per recv(); larger messages are
// read through it in pieces.
constexpr size_t kReadBuffer = 16 * 1024;
constexpr size_t kMaxIov = 64;

// Registers `fn` to run when the socket is ready for `what`, unless the
// returned token is dropped first (the KJ promise was cancelled).
template <typename Fn>
std::shared_ptr<bool> whenReady(asio::local::stream_protocol::socket& socket,
                                asio::socket_base::wait_type what, Fn fn) {
  auto token = std::make_shared<bool>(true);
  socket.async_wait(what, [weak = std::weak_ptr<bool>(token), fn = std::move(fn)](
                              const boost::system::error_code& ec) mutable {
    if (auto alive = weak.lock()) fn(ec);
  });
  return token;
}

kj::Exception socketError(const char* call, int err) {
  return KJ_EXCEPTION(FAILED, "socket error", call, strerror(err), err);
}

// A write to a peer that is gone: nobody will read it, so it is dropped as if
// sent, and the read side's EOF ends the connection. Rejected, it made capnp
// throw (and unwind) at every client's exit: ~6% of berthd's CPU in
// bench/start-rate (perf).
bool peerGone(int err) { return err == EPIPE || err == ECONNRESET || err == ENOTCONN; }
}  // namespace

class AsioStream::ReadOp {
 public:
  ReadOp(kj::PromiseFulfiller<size_t>& fulfiller, AsioStream& stream, kj::byte* out,
         size_t minBytes, size_t maxBytes, size_t already)
      : fulfiller_(fulfiller), stream_(stream), out_(out), min_(minBytes), max_(maxBytes),
        got_(already) {
    stream_.waiter_ = this;
    stream_.receive();
  }
  ~ReadOp() {
    if (stream_.waiter_ == this) stream_.waiter_ = nullptr;
  }

  // The stream's buffer changed (data, EOF or an error).
  void onData() {
    KJ_IF_MAYBE(e, stream_.readError_) {
      stream_.waiter_ = nullptr;
      fulfiller_.reject(kj::cp(*e));
      return;
    }
    got_ += stream_.takeBuffered(out_ + got_, max_ - got_);
    if (got_ >= min_ || stream_.eof_) {
      stream_.waiter_ = nullptr;
      fulfiller_.fulfill(kj::cp(got_));
      return;
    }
    stream_.receive();
  }

 private:
  kj::PromiseFulfiller<size_t>& fulfiller_;
  AsioStream& stream_;
  kj::byte* out_;
  size_t min_, max_, got_;
};

void AsioStream::receive() {
  if (receiving_ || eof_ || readError_ != nullptr) return;
  if (begin_ == end_) begin_ = end_ = 0;
  if (end_ == kReadBuffer) return;  // full: the waiter drains it first
  receiving_ = true;
  socket_.async_receive(
      asio::buffer(buffer_.get() + end_, kReadBuffer - end_),
      [this, alive = alive_](const boost::system::error_code& ec, size_t n) {
        if (!*alive) return;  // the stream is gone (and so is nobody's buffer)
        receiving_ = false;
        if (!ec) {
          end_ += n;
        } else if (ec == asio::error::eof || ec == asio::error::connection_reset) {
          eof_ = true;
        } else if (ec == asio::error::operation_aborted) {
          return;
        } else {
          readError_ = KJ_EXCEPTION(DISCONNECTED, "recv failed", ec.message().c_str());
        }
        if (waiter_) waiter_->onData();
      });
}

class AsioStream::WriteOp {
 public:
  WriteOp(kj::PromiseFulfiller<void>& fulfiller, AsioStream& stream,
          std::vector<iovec> remaining)
      : fulfiller_(fulfiller), stream_(stream), iov_(std::move(remaining)) {
    arm();
  }

 private:
  void arm() {
    token_ = whenReady(stream_.socket_, asio::socket_base::wait_write,
                       [this](const boost::system::error_code& ec) { onWritable(ec); });
  }

  void onWritable(const boost::system::error_code& ec) {
    if (ec) {
      fulfiller_.reject(KJ_EXCEPTION(DISCONNECTED, "socket wait failed", ec.message().c_str()));
      return;
    }
    int r = sendSome(stream_.fd_, iov_);
    if (r < 0 && !peerGone(-r)) {
      fulfiller_.reject(socketError("sendmsg", -r));
    } else if (r != 0) {
      fulfiller_.fulfill();
    } else {
      arm();
    }
  }

 public:
  // Sends what the socket takes now: 1 once everything is sent, 0 when the
  // socket is full, -errno on an error. No exception: a peer that went away
  // is routine (a client exits right after its last call), and a throw costs
  // an unwinder lookup (in the static shim, a sort of every frame once).
  static int sendSome(int fd, std::vector<iovec>& iov) {
    size_t first = 0;
    while (first < iov.size()) {
      msghdr msg{};
      msg.msg_iov = iov.data() + first;
      msg.msg_iovlen = std::min(iov.size() - first, kMaxIov);
      // MSG_NOSIGNAL: a vanished peer is an error here, not a SIGPIPE.
      ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return -errno;
      }
      size_t left = static_cast<size_t>(n);
      while (first < iov.size() && left >= iov[first].iov_len) {
        left -= iov[first].iov_len;
        ++first;
      }
      if (left > 0) {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
      }
    }
    iov.erase(iov.begin(), iov.begin() + static_cast<std::ptrdiff_t>(first));
    return iov.empty() ? 1 : 0;
  }

 private:
  kj::PromiseFulfiller<void>& fulfiller_;
  AsioStream& stream_;
  std::vector<iovec> iov_;
  std::shared_ptr<bool> token_;
};

AsioStream::AsioStream(asio::local::stream_protocol::socket socket, StreamOptions options)
    : socket_(std::move(socket)), fd_(socket_.native_handle()), options_(options) {
  socket_.non_blocking(true);
  buffer_.reset(new kj::byte[kReadBuffer]);
  // Register for writability now, as KJ's own loop does for every socket
  // (Asio adds EPOLLOUT only once a write has had to wait). The peer's read of
  // our last message then wakes us while it prepares its next one, so its
  // next message finds us awake: on a VM whose idle vCPUs halt at once, that
  // takes the wake-up latency out of the round trip (bench/rpc: median
  // 85-90 us without it, 47-58 us with it, KJ's own loop 43-52 us). The cost
  // is that wake-up when traffic flows; an idle socket still wakes nobody.
  if (options_.wakeOnPeerRead) {
    socket_.async_wait(asio::socket_base::wait_write, [](const boost::system::error_code&) {});
  }
}

AsioStream::~AsioStream() noexcept(false) {
  *alive_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

size_t AsioStream::takeBuffered(kj::byte* out, size_t max) {
  size_t n = std::min(max, end_ - begin_);
  if (n > 0) {
    memcpy(out, buffer_.get() + begin_, n);
    begin_ += n;
    if (begin_ == end_ && !receiving_) begin_ = end_ = 0;
  }
  return n;
}


kj::Promise<size_t> AsioStream::tryRead(void* buffer, size_t minBytes, size_t maxBytes) {
  auto* out = static_cast<kj::byte*>(buffer);
  size_t got = takeBuffered(out, maxBytes);
  if (got >= minBytes || eof_) return got;
  KJ_IF_MAYBE(e, readError_) return kj::cp(*e);
  // Asio tries the recv at once (speculatively) and waits only if it must.
  return kj::newAdaptedPromise<size_t, ReadOp>(*this, out, minBytes, maxBytes, got);
}

kj::Promise<void> AsioStream::write(const void* buffer, size_t size) {
  kj::ArrayPtr<const kj::byte> piece(static_cast<const kj::byte*>(buffer), size);
  return write(kj::arrayPtr(&piece, 1));
}

kj::Promise<void> AsioStream::write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  std::vector<iovec> iov;
  iov.reserve(pieces.size());
  for (auto& p : pieces) {
    if (p.size() > 0) iov.push_back({const_cast<kj::byte*>(p.begin()), p.size()});
  }
  // A failed send is a rejected promise, never a throw: the RPC layer may be
  // writing (a Finish) while it handles the peer's last message.
  int r = WriteOp::sendSome(fd_, iov);
  if (r > 0) return kj::READY_NOW;
  if (r < 0) return peerGone(-r) ? kj::Promise<void>(kj::READY_NOW) : socketError("sendmsg", -r);
  // The pieces stay valid until this promise resolves or is dropped (KJ's rule).
  return kj::newAdaptedPromise<void, WriteOp>(*this, std::move(iov));
}

kj::Promise<void> AsioStream::whenWriteDisconnected() {
  // The reader side notices EOF; the RPC layer does not need this signal.
  return kj::NEVER_DONE;
}

void AsioStream::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

void AsioStream::abortRead() { ::shutdown(fd_, SHUT_RD); }

uid_t AsioStream::peerUid() const {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd_, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    throw systemError("getsockopt(SO_PEERCRED)", errno);
  }
  return cred.uid;
}

kj::Own<AsioStream> makeStream(asio::local::stream_protocol::socket socket,
                               StreamOptions options) {
  return kj::heap<AsioStream>(std::move(socket), options);
}

}  // namespace berth
