#include "common/hand_off.h"

#include <sched.h>

namespace berth {

void handOffCpu() { ::sched_yield(); }

}  // namespace berth
