#include "common/fsutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/errors.h"
#include "common/unique_fd.h"

namespace berth {

namespace {

// A temp file's suffix, from getrandom(2). Not std::random_device: its set-up
// probes the CPU with CPUID (for RDRAND), which traps to the hypervisor on a
// VM, 2.5% of a shim's start-up CPU.
std::string randomSuffix() {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[12];
  ssize_t n;
  do {
    n = ::getrandom(bytes, sizeof(bytes), 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof(bytes))) throw systemError("getrandom", n < 0 ? errno : EIO);
  std::string s(sizeof(bytes), 'x');
  for (size_t i = 0; i < sizeof(bytes); ++i) s[i] = kChars[bytes[i] % (sizeof(kChars) - 1)];
  return s;
}

// Mount identity of an entry: mount id where the kernel reports it (catches
// bind mounts of the same filesystem), else the device number.
struct MountKey {
  bool hasMntId;
  uint64_t id;
  bool operator==(const MountKey&) const = default;
};

MountKey mountKey(int dirfd, const char* name, const std::string& path) {
  struct statx stx{};
  int flags = AT_SYMLINK_NOFOLLOW | (name[0] == '\0' ? AT_EMPTY_PATH : 0);
#ifdef STATX_MNT_ID
  if (::statx(dirfd, name, flags, STATX_MNT_ID, &stx) < 0) throw systemError("statx " + path, errno);
  if (stx.stx_mask & STATX_MNT_ID) return {true, stx.stx_mnt_id};
#else
  if (::statx(dirfd, name, flags, STATX_BASIC_STATS, &stx) < 0) throw systemError("statx " + path, errno);
#endif
  return {false, (static_cast<uint64_t>(stx.stx_dev_major) << 32) | stx.stx_dev_minor};
}

// Removes everything inside the open directory DIRFD (which is PATH).
void removeContents(int dirfd, const std::string& path, const MountKey& mount) {
  int dupfd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dupfd < 0) throw systemError("fcntl(F_DUPFD_CLOEXEC) " + path, errno);
  DIR* dir = ::fdopendir(dupfd);
  if (!dir) {
    int err = errno;
    ::close(dupfd);
    throw systemError("fdopendir " + path, err);
  }
  struct Closer {
    DIR* d;
    ~Closer() { ::closedir(d); }
  } closer{dir};

  for (;;) {
    errno = 0;
    dirent* ent = ::readdir(dir);
    if (!ent) {
      if (errno != 0) throw systemError("readdir " + path, errno);
      break;
    }
    std::string_view name(ent->d_name);
    if (name == "." || name == "..") continue;
    std::string child = path + "/" + ent->d_name;

    struct stat st{};
    if (::fstatat(dirfd, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue;  // removed concurrently
      throw systemError("fstatat " + child, errno);
    }
    if (S_ISDIR(st.st_mode)) {
      if (!(mountKey(dirfd, ent->d_name, child) == mount))
        throw failedPrecondition("removeTree " + path + ": refusing to cross mount point " + child);
      // O_NOFOLLOW: if the entry was swapped for a symlink since fstatat, fail
      // instead of following it.
      UniqueFd sub(::openat(dirfd, ent->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.fd < 0) {
        if (errno == ENOENT) continue;
        throw systemError("openat " + child, errno);
      }
      removeContents(sub.fd, child, mount);
      if (::unlinkat(dirfd, ent->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        throw systemError("unlinkat(AT_REMOVEDIR) " + child, errno);
    } else if (::unlinkat(dirfd, ent->d_name, 0) < 0 && errno != ENOENT) {
      throw systemError("unlinkat " + child, errno);
    }
  }
}

}  // namespace

std::string dirName(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

namespace {
// Temp file in the same directory, written whole, optionally fsynced, renamed.
void writeAndRename(const std::string& path, std::string_view data, mode_t mode, bool sync) {
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    tmp = path + ".tmp-" + randomSuffix();
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && (errno != EEXIST || attempt >= 16)) throw systemError("open " + tmp, errno);
  }
  UniqueFd guard(fd);
  try {
    if (::fchmod(fd, mode) < 0) throw systemError("fchmod " + tmp, errno);  // undo umask
    writeAll(fd, data, tmp);
    if (sync && ::fsync(fd) < 0) throw systemError("fsync " + tmp, errno);
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw systemError("rename " + tmp + " to " + path, errno);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}
}  // namespace

void writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw systemError("write " + path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void atomicWrite(const std::string& path, std::string_view data, mode_t mode) {
  writeAndRename(path, data, mode, /*sync=*/true);
  // The rename is only durable once the directory entry is on disk.
  std::string dir = dirName(path);
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.fd < 0) throw systemError("open " + dir, errno);
  if (::fsync(dfd.fd) < 0) throw systemError("fsync " + dir, errno);
}

void replaceFile(const std::string& path, std::string_view data, mode_t mode) {
  writeAndRename(path, data, mode, /*sync=*/false);
}

void overwriteInPlace(const std::string& path, std::string_view data, mode_t mode) {
  constexpr size_t kPage = 4096;
  if (data.size() >= kPage) return replaceFile(path, data, mode);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.fd < 0) {
    if (errno == ENOENT) return replaceFile(path, data, mode);
    throw systemError("open " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) throw systemError("fstat " + path, errno);
  if (static_cast<size_t>(st.st_size) >= kPage) {
    fd.reset();
    return replaceFile(path, data, mode);
  }
  std::string text(data);
  if (text.size() < static_cast<size_t>(st.st_size)) text.resize(static_cast<size_t>(st.st_size), ' ');
  writeAll(fd.fd, text, path);  // at offset 0: the file was just opened
}

namespace {
Error tooLarge(const std::string& path, size_t maxBytes) {
  return invalidArgument(path + " is larger than " + std::to_string(maxBytes) + " bytes");
}
}  // namespace

std::optional<std::string> readFile(const std::string& path, size_t maxBytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (fd.fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw systemError("open " + path, errno);
  }
  struct stat st{};
  if (::fstat(fd.fd, &st) != 0) throw systemError("fstat " + path, errno);
  if (!S_ISREG(st.st_mode)) throw invalidArgument(path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > maxBytes) throw tooLarge(path, maxBytes);
  return readAll(fd.fd, path, maxBytes);  // (/proc files say size 0: the limit is checked as it reads)
}

std::string readAll(int fd, const std::string& path, size_t maxBytes) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw systemError("read " + path, errno);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > maxBytes) throw tooLarge(path, maxBytes);
  }
}

void makeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) throw invalidArgument("makeDirs: empty path");
  // The leaf first: its parent is usually there, and then that is one mkdir
  // instead of a mkdir and a stat for every level of the path.
  int made = ::mkdir(path.c_str(), mode);
  if (made < 0 && errno == ENOENT) {
    size_t end = path.find_last_not_of('/');
    size_t slash = end == std::string::npos ? std::string::npos : path.rfind('/', end);
    if (slash == std::string::npos || slash == 0) throw systemError("mkdir " + path, ENOENT);
    makeDirs(path.substr(0, slash), mode);
    made = ::mkdir(path.c_str(), mode);
  }
  if (made == 0) {
    if (::chmod(path.c_str(), mode) < 0) throw systemError("chmod " + path, errno);
    return;
  }
  if (errno != EEXIST) throw systemError("mkdir " + path, errno);
  struct stat st{};
  if (::stat(path.c_str(), &st) < 0) throw systemError("stat " + path, errno);
  if (!S_ISDIR(st.st_mode)) throw systemError("mkdir " + path, ENOTDIR);
}

void removeTree(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return;
    throw systemError("lstat " + path, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) throw systemError("unlink " + path, errno);
    return;
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.fd < 0) {
    if (errno == ENOENT) return;
    throw systemError("open " + path, errno);
  }
  removeContents(fd.fd, path, mountKey(fd.fd, "", path));
  if (::rmdir(path.c_str()) < 0 && errno != ENOENT) throw systemError("rmdir " + path, errno);
}

bool pathExists(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  throw systemError("lstat " + path, errno);
}

namespace {
// config.json opened non-blocking (a FIFO's open would block the caller's
// loop) and checked on that fd: a regular file of at most kMaxConfig.
constexpr off_t kMaxConfig = kMaxSpecBytes;
UniqueFd openBundleConfig(const std::string& bundle) {
  const std::string config = bundle + "/config.json";
  UniqueFd fd(::open(config.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (fd.fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw invalidArgument("bundle " + bundle + " has no config.json");
    throw invalidArgument("bundle " + bundle + ": open config.json: " + std::strerror(errno));
  }
  struct stat st{};
  if (::fstat(fd.fd, &st) != 0) throw systemError("fstat " + config, errno);
  if (!S_ISREG(st.st_mode)) throw invalidArgument("bundle " + bundle + ": config.json is not a regular file");
  if (st.st_size > kMaxConfig) throw invalidArgument("bundle " + bundle + ": config.json is larger than 4 MiB");
  return fd;
}
}  // namespace

void checkBundleConfig(const std::string& bundle) { openBundleConfig(bundle); }

std::string readBundleConfig(const std::string& bundle) {
  UniqueFd fd = openBundleConfig(bundle);
  try {
    return readAll(fd.fd, bundle + "/config.json", kMaxSpecBytes);
  } catch (const Error& e) {
    throw invalidArgument("bundle " + bundle + ": " + e.message());  // (the caller's to fix, as above)
  }
}

}  // namespace berth
