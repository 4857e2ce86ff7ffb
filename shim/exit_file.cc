#include "shim/exit_file.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace berth::shim {

ExitFile::ExitFile(ExitFile&& other) noexcept
    : dir_(std::move(other.dir_)),
      name_(std::move(other.name_)),
      fd_(std::exchange(other.fd_, -1)),
      dirFd_(std::exchange(other.dirFd_, -1)) {}

ExitFile& ExitFile::operator=(ExitFile&& other) noexcept {
  if (this != &other) {
    discard();
    dir_ = std::move(other.dir_);
    name_ = std::move(other.name_);
    fd_ = std::exchange(other.fd_, -1);
    dirFd_ = std::exchange(other.dirFd_, -1);
  }
  return *this;
}

ExitFile::~ExitFile() { discard(); }

void ExitFile::discard() {
  if (dirFd_ >= 0) ::close(std::exchange(dirFd_, -1));
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(tempPath().c_str());  // never written: not an exit
}

std::string ExitFile::tempName() const { return "." + name_ + ".new"; }

std::string ExitFile::tempPath() const { return dir_ + "/" + tempName(); }

void ExitFile::prepare(const std::string& dir, const std::string& name) {
  discard();
  dir_ = dir;
  name_ = name;
  try {
    makeDirs(dir_, 0700);
    std::string temp = tempPath();
    dirFd_ = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirFd_ < 0) throw systemError("open " + dir_, errno);
    fd_ = ::openat(dirFd_, tempName().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      int err = errno;
      ::close(std::exchange(dirFd_, -1));
      throw systemError("open " + temp, err);
    }
    // On tmpfs (the state dir is under /run), the page the exit's line goes
    // to, allocated now (size unchanged): the write at the exit then finds
    // it in the page cache. On a disk filesystem this would only reserve an
    // unwritten extent, more work later, so not there.
    struct statfs fs {};
    if (::fstatfs(fd_, &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
      (void)::fallocate(fd_, FALLOC_FL_KEEP_SIZE, 0, 4096);
    }
  } catch (const std::exception& e) {
    BERTH_LOG(warn) << "preparing the exit file of " << name_ << ": " << e.what();
  }
}

void ExitFile::write(std::string_view text) {
  std::string path = dir_ + "/" + name_;
  if (fd_ < 0) {
    makeDirs(dir_, 0700);
    replaceFile(path, text, 0600);
    return;
  }
  std::string temp = tempPath();
  int fd = std::exchange(fd_, -1);
  int dirFd = std::exchange(dirFd_, -1);
  try {
    writeAll(fd, text, temp);  // the empty file's offset is 0
  } catch (...) {
    ::close(fd);
    ::close(dirFd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  int renamed = ::renameat(dirFd, tempName().c_str(), dirFd, name_.c_str());
  int err = errno;
  ::close(dirFd);
  if (renamed != 0) {
    ::unlink(temp.c_str());
    throw systemError("rename " + temp + " to " + path, err);
  }
}

}  // namespace berth::shim
