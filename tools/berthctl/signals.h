#pragma once

#include <string>

namespace berthctl {

// "9", "KILL", "SIGKILL", "kill", "SIGRTMIN+3" -> the signal number;
// invalid-argument for anything else.
int parseSignal(const std::string& text);

}  // namespace berthctl
