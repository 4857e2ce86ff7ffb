// Small line logger: "TIME LEVEL NAME: message", one write(2) per line so
// lines from several processes appending to the same file never interleave.
//
//   setLogName("berthd");
//   BERTH_LOG(info) << "task " << id << " created";
//
// A disabled level costs one atomic load: the stream expression is not evaluated.
#pragma once

#include <sstream>
#include <string_view>

namespace berth {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

std::string_view logLevelName(LogLevel level);
// "debug", "info", "warn", "error"; throws invalidArgument on anything else.
LogLevel parseLogLevel(std::string_view name);

void setLogLevel(LogLevel level);
void setLogLevel(std::string_view name);  // throws invalidArgument on unknown names
LogLevel logLevel();
bool logEnabled(LogLevel level);

// Destination file descriptor (default 2). Not owned: berth never closes it.
void setLogFd(int fd);
// Process name printed on every line; set once at start.
void setLogName(std::string_view name);

// One log line; written out by the destructor.
class LogLine {
public:
  explicit LogLine(LogLevel level) : level_(level) {}
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  ~LogLine();
  std::ostringstream& stream() { return stream_; }

private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace berth

// if/else form: safe inside an unbraced if, and skips the operands when off.
#define BERTH_LOG(level)                                         \
  if (!::berth::logEnabled(::berth::LogLevel::level)) {          \
  } else                                                         \
    ::berth::LogLine(::berth::LogLevel::level).stream()
