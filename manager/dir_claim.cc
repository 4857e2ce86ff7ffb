#include "manager/dir_claim.h"

#include "common/errors.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace berth {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLockName = "berthd.lock";

std::string canonical(const std::string& path) {
  std::error_code ec;
  auto out = fs::weakly_canonical(path, ec);
  return ec ? path : out.string();
}

// Opens and locks DIR/berthd.lock; failed-precondition if another berthd has it.
UniqueFd lockDir(const std::string& dir, const char* role) {
  const std::string path = dir + "/" + kLockName;
  // CLOEXEC above all: a shim that inherited it would hold the lock after
  // berthd's death and keep the next berthd out.
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
  if (fd.fd < 0) throw systemError("open " + path, errno);
  if (::flock(fd.fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      throw failedPrecondition(std::string("another berthd uses ") + role + " " + dir + " (it holds " + path + ")");
    }
    throw systemError("flock " + path, errno);
  }
  return fd;
}

// The partner dir a lock file names ("" for a new one, or one an older
// berthd made).
std::string partnerOf(const std::string& dir) {
  auto text = readFile(dir + "/" + kLockName, 4096);
  if (!text) return "";
  std::string out = *text;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// (written only when it changes from NAMED, and before the truncation: a
// full disk neither stops a restart nor loses the name)
void namePartner(int fd, const std::string& dir, const std::string& named, const std::string& partner) {
  const std::string path = dir + "/" + kLockName;
  if (named == partner) return;
  std::string text = partner + "\n";
  if (::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    throw systemError("write " + path, errno);
  }
  if (::ftruncate(fd, static_cast<off_t>(text.size())) != 0) throw systemError("truncate " + path, errno);
}

void checkDirsApart(const std::string& root, const std::string& state) {
  if (root == state) throw failedPrecondition("--root and --state must be different directories: " + root);
  // One inside the other: recovery would take the inner one for a namespace
  // of the outer, find no task in it, and remove it as an orphan.
  for (const auto& [outer, inner] : {std::pair{root, state}, std::pair{state, root}}) {
    if (inner.starts_with(outer + "/") || outer == "/") {
      throw failedPrecondition("--root and --state must not hold one another: " + inner + " is inside " + outer);
    }
  }
}

}  // namespace

DirClaim::DirClaim(const std::string& rootArg, const std::string& stateArg) {
  const std::string root = canonical(rootArg), state = canonical(stateArg);
  checkDirsApart(root, state);  // (before either is made: a refused pair makes nothing)
  makeDirs(root, 0700);
  makeDirs(state, 0700);
  rootLock_ = lockDir(root, "root");
  stateLock_ = lockDir(state, "state");

  // The state dir's tasks are the ones of the root it names, while that root
  // still names it (not once it moved, or went with its tasks).
  const std::string owner = partnerOf(state), home = partnerOf(root);
  if (!owner.empty() && owner != root && partnerOf(owner) == state) {
    throw failedPrecondition("state dir " + state + " holds the tasks of the berthd with --root " + owner +
                             " (" + state + "/" + kLockName + "): with --root " + root +
                             " they would look orphaned and be killed; start with --root " + owner +
                             ", or remove that file if " + owner + " is gone for good");
  }
  // The root's tasks run under the state dir it names, unless that one is
  // gone (a reboot emptied /run, or it moved): then they are rightly lost.
  if (!home.empty() && home != state && partnerOf(home) == root) {
    throw failedPrecondition("root " + root + " has its tasks running under --state " + home + " (" + root +
                             "/" + kLockName + "): with --state " + state +
                             " they would all be taken for dead; start with --state " + home +
                             ", or remove that file if " + home + " is no longer used");
  }
  namePartner(rootLock_.fd, root, home, state);
  namePartner(stateLock_.fd, state, owner, root);
}

}  // namespace berth
