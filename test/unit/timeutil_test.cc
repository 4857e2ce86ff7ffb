#include <catch2/catch.hpp>

#include "common/timeutil.h"

using namespace berth;

TEST_CASE("time zero formats as Go's zero time, with nanoseconds like every other time") {
  CHECK(rfc3339Nano(0) == "0001-01-01T00:00:00.000000000Z");
}

TEST_CASE("one nanosecond after the epoch keeps all nine fraction digits") {
  CHECK(rfc3339Nano(1) == "1970-01-01T00:00:00.000000001Z");
}

TEST_CASE("a known instant formats in UTC with nanoseconds") {
  CHECK(rfc3339Nano(1700000000123456789) == "2023-11-14T22:13:20.123456789Z");
  CHECK(rfc3339Nano(1700000000000000000) == "2023-11-14T22:13:20.000000000Z");
}

TEST_CASE("a time before the epoch has a non-negative fraction") {
  CHECK(rfc3339Nano(-1) == "1969-12-31T23:59:59.999999999Z");
}

TEST_CASE("the wall clock is after 2020 and the monotonic clock does not go back") {
  CHECK(nowNs() > 1577836800LL * 1000000000LL);
  auto a = monotonicNs();
  auto b = monotonicNs();
  CHECK(b >= a);
  CHECK(a > 0);
}
