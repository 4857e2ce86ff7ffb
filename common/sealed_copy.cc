#include "common/sealed_copy.h"

#include "common/errors.h"
#include "common/unique_fd.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: executable, whatever vm.memfd_noexec says
#endif

namespace berth {

std::string fileStamp(const struct stat& st) {
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_ctim.tv_sec) + "." +
         std::to_string(st.st_ctim.tv_nsec);
}

std::optional<std::string> fileStampOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return fileStamp(st);
}

SealedCopy makeSealedCopy(const std::string& path) {
  UniqueFd src{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (src.fd < 0) throw systemError("open " + path, errno);
  struct stat st;
  if (::fstat(src.fd, &st) != 0) throw systemError("fstat " + path, errno);
  char magic[4] = {};
  if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0 ||
      ::pread(src.fd, magic, sizeof magic, 0) != sizeof magic || std::memcmp(magic, "\x7f" "ELF", 4) != 0) {
    throw invalidArgument(path + " is not an ELF executable");
  }
  std::string name = path.substr(path.find_last_of('/') + 1);
  unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  UniqueFd copy{::memfd_create(name.c_str(), flags | MFD_EXEC)};
  if (copy.fd < 0 && errno == EINVAL) copy.fd = ::memfd_create(name.c_str(), flags);  // before 6.3
  if (copy.fd < 0 && (errno == EACCES || errno == EPERM)) {
    // vm.memfd_noexec=2: no executable memfd, for good
    throw failedPrecondition("no executable memfd for a copy of " + path + " (vm.memfd_noexec?)");
  }
  if (copy.fd < 0) throw systemError("memfd_create for a copy of " + path, errno);
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = ::sendfile(copy.fd, src.fd, &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw systemError("sendfile " + path + " into its memfd copy", errno);
    if (n == 0) throw internal(path + " shrank while it was copied");
  }
  // A file rewritten in place while it was copied: the copy may be torn,
  // under the old stamp (retried: the caller gets an internal error).
  const std::string stamp = fileStamp(st);
  struct stat after;
  if (::fstat(src.fd, &after) != 0 || fileStamp(after) != stamp) {
    throw internal(path + " changed while it was copied");
  }
  if (::fchmod(copy.fd, kRuntimeCopyMode) != 0) throw systemError("chmod the memfd copy of " + path, errno);
  if (::fcntl(copy.fd, F_ADD_SEALS, kRuntimeCopySeals) != 0) {
    throw systemError("seal the memfd copy of " + path, errno);
  }
  // runc 1.1 takes only exactly these seals for a copy of itself; a kernel
  // that adds F_SEAL_EXEC (vm.memfd_noexec) would make the copy useless.
  std::string why;
  if (!usableCopy(copy.fd, &why)) {
    throw failedPrecondition("this kernel's memfd copy of " + path + " is not one to run: " + why);
  }
  return {copy.release(), stamp};
}

bool usableCopy(int fd, std::string* why) {
  auto no = [why](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  struct stat st;
  if (::fstat(fd, &st) != 0) return no("fstat: " + std::string(std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) return no("not a regular file");
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) return no("not a memfd (F_GET_SEALS: " + std::string(std::strerror(errno)) + ")");
  if (seals != kRuntimeCopySeals) return no("seals 0x" + [seals] {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%x", static_cast<unsigned>(seals));
    return std::string(hex);
  }() + ", not runc's");
  if (st.st_uid != ::geteuid()) return no("owned by uid " + std::to_string(st.st_uid));
  if ((st.st_mode & 07777) != kRuntimeCopyMode) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return no(std::string("mode ") + mode + ", changed since it was made");
  }
  return true;
}

}  // namespace berth
