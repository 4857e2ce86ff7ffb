#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <optional>

#include "common/readable_within.h"

using namespace std::chrono_literals;

namespace {

enum class Writer { Writes, HangsUp, Idle };

// readableWithin on the read end of a fresh pipe whose writer did `w`; the
// loop runs until no handler is left, after the read end is gone.
bool readableWithinOnPipe(std::chrono::milliseconds timeout, Writer w) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  if (w == Writer::Writes) REQUIRE(::write(p[1], "x", 1) == 1);
  if (w == Writer::HangsUp) ::close(p[1]);
  asio::io_context io;
  std::optional<bool> result;
  {
    asio::posix::stream_descriptor end(io, p[0]);
    asio::co_spawn(io, berth::readableWithin(end, timeout), [&](std::exception_ptr e, bool r) {
      if (e) std::rethrow_exception(e);
      result = r;
    });
    auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!result && std::chrono::steady_clock::now() < give_up) io.run_one_for(100ms);
  }
  io.run_for(50ms);  // a losing wait's handler, if any, now without the descriptor
  if (w != Writer::HangsUp) ::close(p[1]);
  REQUIRE(result.has_value());
  return *result;
}

}  // namespace

TEST_CASE("readableWithin: true for data or a hang-up, false at the timeout") {
  CHECK(readableWithinOnPipe(2000ms, Writer::Writes));
  CHECK(readableWithinOnPipe(2000ms, Writer::HangsUp));
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(readableWithinOnPipe(100ms, Writer::Idle));
  CHECK(std::chrono::steady_clock::now() - start >= 100ms);
  // Readable at once and a zero timeout: both waits complete in one turn.
  readableWithinOnPipe(0ms, Writer::Writes);
}
