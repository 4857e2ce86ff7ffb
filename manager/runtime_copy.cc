#include "manager/runtime_copy.h"

#include "common/errors.h"
#include "common/log.h"

#include <unistd.h>

namespace berth {

namespace {
constexpr std::chrono::seconds kRetryFailedCopy{10};
}

RuntimeCopy::~RuntimeCopy() { drop(); }

void RuntimeCopy::drop() {
  if (copy_.fd >= 0) ::close(copy_.fd);
  copy_ = {};
}

const SealedCopy* RuntimeCopy::current() {
  // One stat per shim start: what an upgrade of the runtime changes.
  std::optional<std::string> stamp = fileStampOf(path_);
  if (!stamp) return nullptr;  // gone: the shim's runc calls by path will say so
  if (copy_.fd >= 0 && copy_.stamp == *stamp) {
    std::string why;
    if (usableCopy(copy_.fd, &why)) return &copy_;
    BERTH_LOG(warn) << "the sealed copy of the runtime " << path_ << " was changed (" << why
                    << "): copying it again";
  }
  if (refusedStamp_ == *stamp) return nullptr;
  auto now = std::chrono::steady_clock::now();
  if (now < retryAt_) return nullptr;
  try {
    SealedCopy fresh = makeSealedCopy(path_);
    if (copy_.fd >= 0 && copy_.stamp != *stamp) {
      BERTH_LOG(info) << "runtime " << path_ << " changed: new shims run the new binary";
    }
    drop();
    copy_ = std::move(fresh);
    retryAt_ = {};
    return &copy_;
  } catch (const Error& e) {
    drop();
    // What the file or the kernel is (a script, noexec memfds) stays so
    // until the file changes; a lack of memory or fds may pass.
    bool lasting = e.code() == Code::InvalidArgument || e.code() == Code::FailedPrecondition;
    if (lasting) refusedStamp_ = *stamp;
    else retryAt_ = now + kRetryFailedCopy;
    BERTH_LOG(info) << "shims run the runtime from its path, without a sealed copy"
                    << (lasting ? "" : " for now") << ": " << e.what();
    return nullptr;
  }
}

}  // namespace berth
