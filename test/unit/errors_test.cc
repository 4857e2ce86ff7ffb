#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/errors.h"

using namespace berth;

TEST_CASE("every code has its contract name") {
  CHECK(codeName(Code::NotFound) == "not-found");
  CHECK(codeName(Code::AlreadyExists) == "already-exists");
  CHECK(codeName(Code::FailedPrecondition) == "failed-precondition");
  CHECK(codeName(Code::InvalidArgument) == "invalid-argument");
  CHECK(codeName(Code::Unavailable) == "unavailable");
  CHECK(codeName(Code::Internal) == "internal");
}

TEST_CASE("an error's what() is the code followed by the message") {
  Error e = notFound("task does not exist");
  CHECK(e.code() == Code::NotFound);
  CHECK(e.message() == "task does not exist");
  CHECK(std::string(e.what()) == "not-found: task does not exist");
  CHECK(alreadyExists("x").code() == Code::AlreadyExists);
  CHECK(failedPrecondition("x").code() == Code::FailedPrecondition);
  CHECK(invalidArgument("x").code() == Code::InvalidArgument);
  CHECK(unavailable("x").code() == Code::Unavailable);
  CHECK(internal("x").code() == Code::Internal);
}

TEST_CASE("a system error names the operation, strerror and errno") {
  Error e = systemError("open /run/berth/x", ENOENT);
  CHECK(e.code() == Code::Internal);
  CHECK(e.message() == std::string("open /run/berth/x: ") + std::strerror(ENOENT) + " (errno " +
                           std::to_string(ENOENT) + ")");
}

TEST_CASE("parseError reads a plain CODE: message") {
  Error e = parseError("already-exists: task already exists");
  CHECK(e.code() == Code::AlreadyExists);
  CHECK(e.message() == "task already exists");
}

TEST_CASE("parseError skips capnp's remote exception prefix") {
  Error e = parseError("remote exception: not-found: task does not exist");
  CHECK(e.code() == Code::NotFound);
  CHECK(e.message() == "task does not exist");

  Error f = parseError("(remote): remote exception: failed-precondition: task is running");
  CHECK(f.code() == Code::FailedPrecondition);
  CHECK(f.message() == "task is running");
}

TEST_CASE("parseError takes the first code and keeps later codes in the message") {
  Error e = parseError("remote exception: invalid-argument: bad id: not-found: x");
  CHECK(e.code() == Code::InvalidArgument);
  CHECK(e.message() == "bad id: not-found: x");
}

TEST_CASE("parseError ignores a code glued to a longer word") {
  Error e = parseError("xnot-found: y");
  CHECK(e.code() == Code::Internal);
  CHECK(e.message() == "xnot-found: y");
}

TEST_CASE("parseError of unknown text is internal with the whole text") {
  Error e = parseError("remote exception: something broke");
  CHECK(e.code() == Code::Internal);
  CHECK(e.message() == "remote exception: something broke");
}

TEST_CASE("every code survives a round trip through kj::Exception") {
  for (Code c : {Code::NotFound, Code::AlreadyExists, Code::FailedPrecondition, Code::InvalidArgument,
                 Code::Unavailable, Code::Internal}) {
    Error original(c, "some message: with colon");
    kj::Exception k = toKjException(original);
    CHECK(k.getType() == kj::Exception::Type::FAILED);
    CHECK(std::string(k.getDescription().cStr()) == original.what());
    Error back = fromKjException(k);
    CHECK(back.code() == c);
    CHECK(back.message() == "some message: with colon");
  }
}

TEST_CASE("a disconnected kj exception becomes unavailable") {
  kj::Exception k(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__, kj::heapString("peer hung up"));
  Error e = fromKjException(k);
  CHECK(e.code() == Code::Unavailable);
  CHECK(e.message() == "connection lost: peer hung up");
}

TEST_CASE("toKjException of an exception_ptr keeps berth codes and maps others to internal") {
  auto fromThrown = [](auto thrown) {
    try {
      throw thrown;
    } catch (...) {
      return fromKjException(toKjException(std::current_exception()));
    }
  };
  Error a = fromThrown(alreadyExists("dup"));
  CHECK(a.code() == Code::AlreadyExists);
  CHECK(a.message() == "dup");

  Error b = fromThrown(std::runtime_error("boom"));
  CHECK(b.code() == Code::Internal);
  CHECK(b.message() == "boom");

  kj::Exception disc(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__, kj::heapString("gone"));
  Error c = fromThrown(disc);
  CHECK(c.code() == Code::Unavailable);
}
