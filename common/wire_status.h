// Exit statuses and status words between the wire's typed forms and the
// contract's numbers: exited with code c → c, killed by signal s → 128+s.
#pragma once

#include "types.capnp.h"

#include <cstdint>
#include <string_view>

namespace berth {

// A waitpid(2) status as the wire's typed union.
void setExitStatus(wire::ExitStatus::Builder out, int waitStatus);

uint32_t contractExitStatus(int waitStatus);
uint32_t contractExitStatus(wire::ExitStatus::Reader status);

// "created", "running", … as the contract spells them.
std::string_view statusWord(wire::Status status);

}  // namespace berth
