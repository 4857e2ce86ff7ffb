// A process's stdin through the shim (shim/process_io.h): the FIFO the client
// writes is copied into the process's pipe, and a close-stdin gives the
// process EOF only after what was written before it.
#include <catch2/catch.hpp>

#include "shim/process_io.h"
#include "temp_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>

using namespace berth;
using namespace berth::shim;

namespace {
// Runs what is ready on the loop now (no waiting for more).
void runReady(asio::io_context& io) {
  io.poll();
  io.restart();
}

// Reads the pipe to EOF (the loop runs meanwhile), or until `limit`.
std::string readToEof(asio::io_context& io, int fd, bool* eof,
                      std::chrono::milliseconds limit = std::chrono::seconds(2)) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::string got;
  *eof = false;
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    io.run_one_for(std::chrono::milliseconds(10));
    io.restart();
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    if (n == 0) {
      *eof = true;
      break;
    }
  }
  return got;
}

// A process's stdin from a FIFO, as the shim sets it up for runc: `processSide`
// is the process's end of its pipe (the shim's own copy already dropped).
struct StdinFromFifo {
  test::TempDir dir;
  std::string fifo = dir.path + "/stdin";
  asio::io_context io;
  ProcessIO pio;
  int processSide = -1;
  StdinFromFifo() {
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    IoPaths paths;
    paths.stdin = fifo;
    pio = ProcessIO::open(io, paths, dir.path + "/console.sock");
    processSide = ::dup(pio.stdio().in);
    REQUIRE(processSide >= 0);
    pio.releaseProcessSide();
  }
  ~StdinFromFifo() { ::close(processSide); }
  // The client's end: a writer of the FIFO.
  int openWriter() const {
    int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    REQUIRE(fd >= 0);
    return fd;
  }
};
}  // namespace

TEST_CASE("close-stdin right after a write: the write reaches the process before its EOF") {
  StdinFromFifo s;
  SECTION("written while the copy waits for input, closed before the loop saw it") {
    runReady(s.io);  // the copy now waits for the FIFO to become readable
  }
  SECTION("written and closed before the copy started") {}
  int writer = s.openWriter();
  REQUIRE(::write(writer, "piped\n", 6) == 6);
  ::close(writer);
  s.pio.closeStdin();  // the client's close-stdin, in the same turn of the loop
  bool eof = false;
  std::string got = readToEof(s.io, s.processSide, &eof);
  CHECK(got == "piped\n");
  CHECK(eof);
}

TEST_CASE("stdin copied as it comes, then EOF at close-stdin") {
  StdinFromFifo s;
  int writer = s.openWriter();
  REQUIRE(::write(writer, "one\n", 4) == 4);
  bool eof = false;
  CHECK(readToEof(s.io, s.processSide, &eof, std::chrono::milliseconds(200)) == "one\n");
  CHECK_FALSE(eof);  // more may come
  REQUIRE(::write(writer, "two\n", 4) == 4);
  ::close(writer);
  s.pio.closeStdin();
  CHECK(readToEof(s.io, s.processSide, &eof) == "two\n");
  CHECK(eof);
}

TEST_CASE("the exit stops a copy still blocked on a full pipe after close-stdin") {
  // The process stopped reading (a background child holds its stdin): the
  // copy waits to write, and at the exit must let go of the FIFO and pipe.
  StdinFromFifo s;
  int writer = s.openWriter();
  std::string chunk(64 * 1024, 'x');
  size_t written = 0;
  for (int i = 0; i < 8; ++i) {  // more than the pipe and the FIFO hold
    ssize_t n = ::write(writer, chunk.data(), chunk.size());
    if (n > 0) written += static_cast<size_t>(n);
    runReady(s.io);
  }
  ::close(writer);
  REQUIRE(written > 64 * 1024);
  s.pio.closeStdin();
  runReady(s.io);
  s.pio.stopStdin();  // the exit
  runReady(s.io);
  bool eof = false;
  readToEof(s.io, s.processSide, &eof);
  CHECK(eof);  // the copy closed its end of the pipe
}
