#include "manager/runtime_copy.h"

#include "common/log.h"

#include <unistd.h>

namespace berth {

RuntimeCopy::~RuntimeCopy() {
  if (copy_.fd >= 0) ::close(copy_.fd);
}

const SealedCopy* RuntimeCopy::current() {
  // One stat per shim start: what an upgrade of the runtime changes.
  std::optional<std::string> stamp = fileStampOf(path_);
  if (!stamp) return nullptr;  // gone: the shim's runc calls by path will say so
  if (copy_.fd >= 0 && copy_.stamp == *stamp) return &copy_;
  if (refusedStamp_ == *stamp) return nullptr;
  try {
    SealedCopy fresh = makeSealedCopy(path_);
    if (copy_.fd >= 0) {
      ::close(copy_.fd);
      BERTH_LOG(info) << "runtime " << path_ << " changed: new shims run the new binary";
    }
    copy_ = std::move(fresh);
    refusedStamp_.clear();
    return &copy_;
  } catch (const std::exception& e) {
    if (copy_.fd >= 0) ::close(copy_.fd);
    copy_ = {};
    refusedStamp_ = *stamp;
    BERTH_LOG(info) << "shims run the runtime from its path, without a sealed copy: " << e.what();
    return nullptr;
  }
}

}  // namespace berth
