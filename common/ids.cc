#include "common/ids.h"

#include <string>

#include "common/errors.h"

namespace berth {

namespace {
constexpr size_t kMaxLength = 76;

// Explicit ASCII ranges: std::isalnum depends on the locale.
bool isAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
}  // namespace

bool isValidIdentifier(std::string_view value) {
  if (value.empty() || value.size() > kMaxLength) return false;
  if (!isAlnum(value[0])) return false;
  for (char c : value.substr(1))
    if (!isAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

void checkIdentifier(std::string_view kind, std::string_view value) {
  if (isValidIdentifier(value)) return;
  throw invalidArgument("invalid " + std::string(kind) + " \"" + std::string(value) +
                        "\": must match [A-Za-z0-9][A-Za-z0-9_.-]{0,75}");
}

void checkNamespace(std::string_view ns) {
  checkIdentifier("namespace", ns);
  // Names berthd's own files take beside the namespaces' dirs.
  if (ns == "runc") {
    throw invalidArgument("namespace \"runc\" is reserved (the state dir keeps runc's state there)");
  }
  if (ns == "events.log" || ns == "events.log.rotating" || ns == "events.log.seq" || ns == "berthd.lock") {
    throw invalidArgument("namespace \"" + std::string(ns) + "\" is reserved (berthd's event journal)");
  }
}

}  // namespace berth
