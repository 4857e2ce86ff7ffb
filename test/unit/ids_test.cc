#include <catch2/catch.hpp>

#include <string>

#include "common/errors.h"
#include "common/ids.h"

using namespace berth;

TEST_CASE("ordinary identifiers are valid") {
  CHECK(isValidIdentifier("a"));
  CHECK(isValidIdentifier("default"));
  CHECK(isValidIdentifier("redis-1"));
  CHECK(isValidIdentifier("0abc_def.ghi-JKL"));
  CHECK(isValidIdentifier("a.."));
}

TEST_CASE("an identifier of 76 characters is valid and 77 is not") {
  CHECK(isValidIdentifier(std::string(76, 'a')));
  CHECK_FALSE(isValidIdentifier(std::string(77, 'a')));
}

TEST_CASE("identifiers that could escape a path or confuse runc are invalid") {
  CHECK_FALSE(isValidIdentifier(""));
  CHECK_FALSE(isValidIdentifier("../x"));
  CHECK_FALSE(isValidIdentifier(".."));
  CHECK_FALSE(isValidIdentifier("a/b"));
  CHECK_FALSE(isValidIdentifier(".a"));
  CHECK_FALSE(isValidIdentifier("-a"));
  CHECK_FALSE(isValidIdentifier("_a"));
  CHECK_FALSE(isValidIdentifier("a b"));
  CHECK_FALSE(isValidIdentifier("a\nb"));
  CHECK_FALSE(isValidIdentifier(std::string("a\0b", 3)));
  CHECK_FALSE(isValidIdentifier("caf\xc3\xa9"));  // "café"
  CHECK_FALSE(isValidIdentifier("\xc3\xa9t\xc3\xa9"));
}

TEST_CASE("checkIdentifier throws invalid-argument naming the kind and the value") {
  CHECK_NOTHROW(checkIdentifier("id", "redis"));
  try {
    checkIdentifier("exec id", "a/b");
    FAIL("checkIdentifier accepted a/b");
  } catch (const Error& e) {
    CHECK(e.code() == Code::InvalidArgument);
    CHECK(e.message() == "invalid exec id \"a/b\": must match [A-Za-z0-9][A-Za-z0-9_.-]{0,75}");
  }
}
