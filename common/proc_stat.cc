#include "common/proc_stat.h"

#include "common/fsutil.h"

#include <sstream>
#include <string>

namespace berth {

std::optional<ProcStat> readProcStat(pid_t pid) {
  std::optional<std::string> stat;
  try {
    stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!stat) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: skip to the last ')'.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(stat->substr(close + 1));
  ProcStat out;
  std::string field;
  if (!(in >> out.state)) return std::nullopt;
  for (int i = 4; i < 22; ++i) {
    if (!(in >> field)) return std::nullopt;
  }
  if (!(in >> out.startTime)) return std::nullopt;
  return out;
}

}  // namespace berth
