#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <string>

#include "common/errors.h"
#include "common/timeutil.h"

namespace berth {

namespace {
std::atomic<int> gLevel{static_cast<int>(LogLevel::info)};
std::atomic<int> gFd{2};
std::mutex gNameMutex;
std::string gName = "berth";

std::string currentName() {
  std::lock_guard lock(gNameMutex);
  return gName;
}
}  // namespace

std::string_view logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}

LogLevel parseLogLevel(std::string_view name) {
  for (auto level : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error})
    if (logLevelName(level) == name) return level;
  throw invalidArgument("invalid log level \"" + std::string(name) + "\": must be debug, info, warn or error");
}

void setLogLevel(LogLevel level) { gLevel.store(static_cast<int>(level), std::memory_order_relaxed); }
void setLogLevel(std::string_view name) { setLogLevel(parseLogLevel(name)); }
LogLevel logLevel() { return static_cast<LogLevel>(gLevel.load(std::memory_order_relaxed)); }
bool logEnabled(LogLevel level) { return static_cast<int>(level) >= gLevel.load(std::memory_order_relaxed); }

void setLogFd(int fd) { gFd.store(fd, std::memory_order_relaxed); }

void setLogName(std::string_view name) {
  std::lock_guard lock(gNameMutex);
  gName = name;
}

LogLine::~LogLine() {
  // Never throw from a destructor: a logging failure must not take the process down.
  try {
    std::string line = rfc3339Nano(nowNs());
    line += ' ';
    line += logLevelName(level_);
    line += ' ';
    line += currentName();
    line += ": ";
    std::string msg = stream_.str();
    // Keep one record per line even if the message has embedded newlines.
    for (char& c : msg)
      if (c == '\n') c = ' ';
    line += msg;
    line += '\n';
    int fd = gFd.load(std::memory_order_relaxed);
    std::string_view rest(line);
    while (!rest.empty()) {
      ssize_t n = ::write(fd, rest.data(), rest.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // nowhere left to report it
      }
      rest.remove_prefix(static_cast<size_t>(n));
    }
  } catch (...) {
  }
}

}  // namespace berth
