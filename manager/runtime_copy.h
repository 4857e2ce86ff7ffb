// berthd's sealed copy of the OCI runtime binary, handed to every shim it
// starts so their runc calls skip runc's own copying (common/sealed_copy.h).
#pragma once

#include "common/sealed_copy.h"

#include <string>

namespace berth {

class RuntimeCopy {
 public:
  explicit RuntimeCopy(std::string path) : path_(std::move(path)) {}
  ~RuntimeCopy();
  RuntimeCopy(const RuntimeCopy&) = delete;
  RuntimeCopy& operator=(const RuntimeCopy&) = delete;

  // The copy to hand on, of the binary now at the path: made at the first
  // call and again whenever the file changed (shims started before keep the
  // copy they have). nullptr where there is none: a runtime that is not an
  // ELF executable (a wrapper script), or a copy that failed; both are said
  // once in the log, and retried only once the file changes.
  const SealedCopy* current();

 private:
  std::string path_;
  SealedCopy copy_;
  std::string refusedStamp_;  // the file version makeSealedCopy refused
};

}  // namespace berth
