// Clocks and the contract's timestamp format (RFC 3339, nanoseconds, UTC).
#pragma once

#include <cstdint>
#include <string>

namespace berth {

// Wall-clock time in nanoseconds since the Unix epoch (CLOCK_REALTIME).
int64_t nowNs();

// "2026-11-28T15:18:07.123456789Z": UTC, always 9 fraction digits.
// 0 means "no time" and gives Go's zero time, with the 9 digits too (the
// contract: RFC 3339 with nanoseconds): "0001-01-01T00:00:00.000000000Z".
std::string rfc3339Nano(int64_t ns);

// CLOCK_MONOTONIC in nanoseconds, for durations and timeouts.
uint64_t monotonicNs();

}  // namespace berth
