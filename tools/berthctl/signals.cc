#include "tools/berthctl/signals.h"

#include "common/errors.h"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>
#include <utility>

namespace berthctl {

namespace {

constexpr std::pair<std::string_view, int> kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},     {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},         {"POLL", SIGPOLL},   {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

// Kernel signal numbers, independent of glibc's reserved real-time signals.
constexpr int kMaxSignal = 64;
constexpr int kRtMin = 34;

bool parseNumber(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

int parseSignal(const std::string& text) {
  auto bad = [&]() { return berth::invalidArgument("unknown signal \"" + text + "\""); };
  int n = 0;
  if (parseNumber(text, n)) {
    if (n < 1 || n > kMaxSignal) throw bad();
    return n;
  }
  std::string name = text;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::string_view v = name;
  if (v.substr(0, 3) == "SIG") v.remove_prefix(3);
  for (const auto& [sigName, number] : kSignals)
    if (sigName == v) return number;
  // RTMIN, RTMIN+N, RTMAX, RTMAX-N
  if (v.substr(0, 5) == "RTMIN" || v.substr(0, 5) == "RTMAX") {
    bool min = v[4] == 'N';
    int base = min ? kRtMin : kMaxSignal;
    std::string_view rest = v.substr(5);
    int off = 0;
    if (!rest.empty()) {
      if (rest[0] != (min ? '+' : '-') || !parseNumber(rest.substr(1), off)) throw bad();
    }
    int sig = min ? base + off : base - off;
    if (sig < kRtMin || sig > kMaxSignal) throw bad();
    return sig;
  }
  throw bad();
}

}  // namespace berthctl
