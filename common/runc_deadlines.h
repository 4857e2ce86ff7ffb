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
// How long after runc create/exec/restore has returned the pty master it
// sent may take to be received (it is there already, or never comes).
inline constexpr std::chrono::seconds kRuncConsolePatience{5};
// The worst case of a create or start at the shim: a short call first (the
// restore's `criu check`), a long one, the console, then the clean-up's
// `runc delete --force`.
inline constexpr std::chrono::seconds kShimRuncWorstCase =
    kRuncShortCall + kRuncLongCall + kRuncConsolePatience + kRuncShortCall;

}  // namespace berth
