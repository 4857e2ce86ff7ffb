// A kj::AsyncIoStream over a connected unix socket, driven by Asio.
//
// Asio is used for readiness only (async_wait); the stream does the recv/send
// itself, so Asio never holds a buffer owned by a KJ promise (Boost 1.74 cannot
// cancel a single operation, and a cancelled KJ read must not leave Asio
// writing into freed memory). Reads are buffered: the RPC layer reads each
// message as two exact-size reads, and serving them from one recv() of up to
// 64 KiB halves the syscalls under pipelined load.
#pragma once

#include "common/asio.h"

#include <kj/async-io.h>

#include <memory>
#include <vector>

namespace berth {

class AsioStream final : public kj::AsyncIoStream {
 public:
  explicit AsioStream(asio::local::stream_protocol::socket socket);
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
  // One non-blocking recv into the buffer: >0 bytes, 0 EOF, -1 would block.
  ssize_t fill();

  asio::local::stream_protocol::socket socket_;
  int fd_;
  // Not zero-filled: pages the reads never reach are never touched (shim RSS).
  std::unique_ptr<kj::byte[]> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
};

// A connected socket's stream; the socket's fd becomes non-blocking.
kj::Own<AsioStream> makeStream(asio::local::stream_protocol::socket socket);

}  // namespace berth
