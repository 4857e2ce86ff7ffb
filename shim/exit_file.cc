#include "shim/exit_file.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace berth::shim {

ExitFile::ExitFile(ExitFile&& other) noexcept
    : dir_(std::move(other.dir_)), name_(std::move(other.name_)), fd_(std::exchange(other.fd_, -1)) {}

ExitFile& ExitFile::operator=(ExitFile&& other) noexcept {
  if (this != &other) {
    discard();
    dir_ = std::move(other.dir_);
    name_ = std::move(other.name_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

ExitFile::~ExitFile() { discard(); }

void ExitFile::discard() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(tempPath().c_str());  // never written: not an exit
}

std::string ExitFile::tempPath() const { return dir_ + "/." + name_ + ".new"; }

void ExitFile::prepare(const std::string& dir, const std::string& name) {
  discard();
  dir_ = dir;
  name_ = name;
  try {
    makeDirs(dir_, 0700);
    std::string temp = tempPath();
    fd_ = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) throw systemError("open " + temp, errno);
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
  try {
    writeAll(fd, text, temp);  // the empty file's offset is 0
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw systemError("rename " + temp + " to " + path, err);
  }
}

}  // namespace berth::shim
