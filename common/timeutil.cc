#include "common/timeutil.h"

#include <time.h>

#include <cerrno>
#include <cstdio>

#include "common/errors.h"

namespace berth {

namespace {
constexpr int64_t kNsPerSec = 1'000'000'000;

int64_t readClock(clockid_t clock, const char* name) {
  timespec ts{};
  if (::clock_gettime(clock, &ts) < 0) throw systemError(std::string("clock_gettime ") + name, errno);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}
}  // namespace

int64_t nowNs() { return readClock(CLOCK_REALTIME, "CLOCK_REALTIME"); }

uint64_t monotonicNs() { return static_cast<uint64_t>(readClock(CLOCK_MONOTONIC, "CLOCK_MONOTONIC")); }

std::string rfc3339Nano(int64_t ns) {
  if (ns == 0) return "0001-01-01T00:00:00.000000000Z";
  // Floor division so times before 1970 keep a non-negative fraction.
  int64_t sec = ns / kNsPerSec;
  int64_t frac = ns % kNsPerSec;
  if (frac < 0) {
    frac += kNsPerSec;
    sec -= 1;
  }
  time_t t = static_cast<time_t>(sec);
  struct tm tm{};
  if (!::gmtime_r(&t, &tm)) throw internal("rfc3339Nano: time " + std::to_string(ns) + " out of range");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  return buf;
}

}  // namespace berth
