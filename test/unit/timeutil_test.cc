#include <catch2/catch.hpp>

#include "common/timeutil.h"

#include <time.h>

#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

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

TEST_CASE("the formatted time agrees with gmtime_r across the whole int64 range") {
  auto viaGmtime = [](int64_t ns) {
    int64_t sec = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
      frac += 1000000000;
      sec -= 1;
    }
    time_t t = static_cast<time_t>(sec);
    struct tm tm{};
    REQUIRE(gmtime_r(&t, &tm) != nullptr);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
    return std::string(buf);
  };
  std::vector<int64_t> samples{1, -1, 86399999999999, 86400000000000, -86400000000000, 951782400000000000,
                               951868799999999999, 4107542400000000000, -2208988800000000000,
                               std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()};
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) samples.push_back(static_cast<int64_t>(rng()));
  for (int64_t ns : samples) {
    INFO("ns = " << ns);
    CHECK(rfc3339Nano(ns) == viaGmtime(ns));
  }
}

TEST_CASE("the wall clock is after 2020 and the monotonic clock does not go back") {
  CHECK(nowNs() > 1577836800LL * 1000000000LL);
  auto a = monotonicNs();
  auto b = monotonicNs();
  CHECK(b >= a);
  CHECK(a > 0);
}
