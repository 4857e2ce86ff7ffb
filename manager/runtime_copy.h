// berthd's sealed copy of the OCI runtime binary, handed to every shim it
// starts so their runc calls skip runc's own copying (common/sealed_copy.h).
#pragma once

#include "common/sealed_copy.h"

#include <chrono>
#include <string>

namespace berth {

class RuntimeCopy {
 public:
  explicit RuntimeCopy(std::string path) : path_(std::move(path)) {}
  ~RuntimeCopy();
  RuntimeCopy(const RuntimeCopy&) = delete;
  RuntimeCopy& operator=(const RuntimeCopy&) = delete;

  // The copy to hand on, of the binary now at the path: made at the first
  // call and again whenever the file changed, or the copy did (its mode:
  // usableCopy); shims started before keep the copy they have. nullptr where
  // there is none: a runtime that is not an ELF executable (a wrapper
  // script), tried again once the file changes (said once); a copy that
  // failed (no memory, no fds), tried again 10 s later (said each time).
  const SealedCopy* current();

 private:
  void drop();

  std::string path_;
  SealedCopy copy_;
  std::string refusedStamp_;  // the file version makeSealedCopy refused
  std::chrono::steady_clock::time_point retryAt_{};  // after a failed copy
};

}  // namespace berth
