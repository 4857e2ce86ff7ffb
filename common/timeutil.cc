#include "common/timeutil.h"

#include <time.h>

#include <cerrno>

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

// Without gmtime_r: glibc's reads /etc/localtime on its first call, even
// for UTC (7 syscalls in every shim, whose log lines carry the time).
std::string rfc3339Nano(int64_t ns) {
  if (ns == 0) return "0001-01-01T00:00:00.000000000Z";
  // Floor division so times before 1970 keep a non-negative fraction.
  int64_t sec = ns / kNsPerSec;
  int64_t frac = ns % kNsPerSec;
  if (frac < 0) {
    frac += kNsPerSec;
    sec -= 1;
  }
  int64_t days = sec / 86400;
  int64_t secOfDay = sec % 86400;
  if (secOfDay < 0) {
    secOfDay += 86400;
    days -= 1;
  }
  // Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
  // civil_from_days, in 400-year eras).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;                                // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                 // [0, 11], from March
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  char buf[32] = "0000-00-00T00:00:00.000000000Z";  // years 1677..2262: four digits
  auto put = [&buf](int pos, int width, int64_t v) {
    for (int i = pos + width - 1; i >= pos; --i, v /= 10) buf[i] = static_cast<char>('0' + v % 10);
  };
  put(0, 4, year);
  put(5, 2, month);
  put(8, 2, day);
  put(11, 2, secOfDay / 3600);
  put(14, 2, secOfDay / 60 % 60);
  put(17, 2, secOfDay % 60);
  put(20, 9, frac);
  return std::string(buf, 30);
}

}  // namespace berth
