#include "common/sealed_copy.h"

#include "common/errors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: executable, whatever vm.memfd_noexec says
#endif

namespace berth {

namespace {
struct OwnedFd {
  int fd;
  ~OwnedFd() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};
}  // namespace

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
  OwnedFd src{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
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
  OwnedFd copy{::memfd_create(name.c_str(), flags | MFD_EXEC)};
  if (copy.fd < 0 && errno == EINVAL) copy.fd = ::memfd_create(name.c_str(), flags);  // before 6.3
  if (copy.fd < 0) throw systemError("memfd_create for a copy of " + path, errno);
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = ::sendfile(copy.fd, src.fd, &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw systemError("sendfile " + path + " into its memfd copy", errno);
    if (n == 0) throw internal(path + " shrank while it was copied");
  }
  if (::fcntl(copy.fd, F_ADD_SEALS, kRuntimeCopySeals) != 0) {
    throw systemError("seal the memfd copy of " + path, errno);
  }
  // runc takes only exactly these seals for a copy of itself; a kernel that
  // adds F_SEAL_EXEC (vm.memfd_noexec) would make the copy useless or
  // unrunnable.
  struct stat mine;
  if (::fcntl(copy.fd, F_GET_SEALS) != kRuntimeCopySeals || ::fstat(copy.fd, &mine) != 0 ||
      (mine.st_mode & 0100) == 0) {
    throw failedPrecondition("this kernel's memfd copy of " + path +
                             " is not executable with runc's seals (vm.memfd_noexec?)");
  }
  return {copy.release(), fileStamp(st)};
}

}  // namespace berth
