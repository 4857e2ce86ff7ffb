// A fresh directory per test case, removed (with what is in it) afterwards.
#pragma once

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <string>

namespace berth::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/berth-unit-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace berth::test
