// DirClaim: this berthd alone uses its --root and --state, and the two belong
// together.
//
// Each dir holds a lock file (berthd.lock, flock'ed for berthd's life, so a
// SIGKILLed berthd leaves no stale lock) whose text names the other dir. Two
// berthd on one root would hand a shim's events to whichever subscribed last
// and number their journal lines twice; a --root that does not match its
// --state makes every task in the state dir look like an orphan, and
// recovery kills orphans. Both are refused before anything is read or
// written.
#pragma once

#include "common/unique_fd.h"

#include <string>

namespace berth {

class DirClaim {
 public:
  // ROOT and STATE absolute; made (0700) if missing, once they are known to
  // be two dirs neither of which holds the other. failed-precondition when
  // they are not, when another berthd holds either dir, or when a dir names
  // a partner other than the given one that still names it back (a partner
  // moved or removed is let go); the error says which berthd.lock to look at.
  DirClaim(const std::string& root, const std::string& state);

 private:
  UniqueFd rootLock_;
  UniqueFd stateLock_;
};

}  // namespace berth
