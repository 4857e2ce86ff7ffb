#include "manager/crash_point.h"

#include "common/log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace berth {

namespace {
// The points named in BERTH_CRASH_AT; empty when the hook is off.
const std::vector<std::string>& armed() {
  static const std::vector<std::string> points = [] {
    std::vector<std::string> out;
    const char* env = std::getenv("BERTH_CRASH_AT");
    std::string_view rest = env ? env : "";
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view one = rest.substr(0, comma);
      if (!one.empty()) out.emplace_back(one);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    return out;
  }();
  return points;
}
}  // namespace

void crashPoint(std::string_view point) {
  const auto& points = armed();
  if (points.empty()) return;
  if (std::find(points.begin(), points.end(), point) == points.end()) return;
  BERTH_LOG(warn) << "BERTH_CRASH_AT: crashing at " << point << " (test hook)";
  std::fflush(stderr);
  ::_exit(137);
}

}  // namespace berth
