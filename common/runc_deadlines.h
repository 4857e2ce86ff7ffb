// How long a shim lets runc run (shim/runc.cc), and so how long berthd waits
// for the shim calls that run it (manager/shim_client.h). A slow runc must
// fail at the shim, which removes what runc left and answers with runc's
// error; a berthd that gave up first would undo the create from outside
// while the shim's runc still ran.
#pragma once

#include <chrono>

namespace berth {

inline constexpr std::chrono::seconds kRuncLongCall{60};   // create, exec, checkpoint, restore
inline constexpr std::chrono::seconds kRuncShortCall{15};  // everything else
// A create's or an exec start's worst case at the shim: a long call that runs
// out, then the clean-up's `runc delete --force`.
inline constexpr std::chrono::seconds kRuncLongCallAndCleanup = kRuncLongCall + kRuncShortCall;

}  // namespace berth
