// A kj::AsyncIoStream over a connected unix socket, driven by Asio.
//
// Asio never holds a buffer owned by a KJ promise (Boost 1.74 cannot cancel a
// single operation, and a cancelled KJ read must not leave Asio writing into
// freed memory): reads go into the stream's own buffer, which outlives every
// receive Asio has pending, and KJ's reads are served from it. The RPC layer
// reads each message as two exact-size reads, so one recv() of many messages
// halves the syscalls under pipelined load. An async_receive (not async_wait)
// lets Asio try the read at once and keeps its edge-triggered registration
// as it is; async_wait would re-arm it with epoll_ctl on every message.
// Writes go straight to sendmsg(); only a full socket waits for Asio.
#pragma once

#include "common/asio.h"

#include <kj/async-io.h>

#include <memory>
#include <vector>

namespace berth {

struct StreamOptions {
  // Register for writability at once, so that the peer's read of our last
  // message wakes us while it prepares its next one (see the constructor).
  // That pays for a caller awaiting the reply to its call. A process that
  // mostly answers and sends events (the shim) is better left asleep: its
  // wake-up on the reader's CPU takes the CPU from the reader, and makes the
  // reader's own next wake-up land on another, idle CPU (ftrace). Once a
  // write has had to wait for room, Asio keeps the registration for good.
  bool wakeOnPeerRead = true;
};

class AsioStream final : public kj::AsyncIoStream {
 public:
  explicit AsioStream(asio::local::stream_protocol::socket socket, StreamOptions options = {});
  ~AsioStream() noexcept(false);

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override;
  kj::Promise<void> write(const void* buffer, size_t size) override;
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override;
  kj::Promise<void> whenWriteDisconnected() override;
  void shutdownWrite() override;
  void abortRead() override;
  kj::Maybe<int> getFd() const override { return fd_; }

  // Peer uid from SO_PEERCRED.
  uid_t peerUid() const;

 private:
  class ReadOp;
  class WriteOp;

  // Copies buffered bytes out; returns how many.
  size_t takeBuffered(kj::byte* out, size_t max);
  // Starts one async_receive into the buffer (unless one is pending); its
  // completion updates the buffer whether or not a ReadOp still waits.
  void receive();

  asio::local::stream_protocol::socket socket_;
  int fd_;
  StreamOptions options_;
  // Not zero-filled: pages the reads never reach are never touched (shim RSS).
  std::unique_ptr<kj::byte[]> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  bool receiving_ = false;               // an async_receive into buffer_ is pending
  kj::Maybe<kj::Exception> readError_;
  ReadOp* waiter_ = nullptr;             // the KJ read waiting for data, if any
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// A connected socket's stream; the socket's fd becomes non-blocking.
kj::Own<AsioStream> makeStream(asio::local::stream_protocol::socket socket,
                               StreamOptions options = {});

}  // namespace berth
