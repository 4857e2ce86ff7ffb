#include "shim/rootfs_mounts.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <sys/mount.h>
#include <unistd.h>

#include <climits>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

namespace berth::shim {

namespace {
struct Flag {
  unsigned long set, clear;
};

// mount(8)'s option words that are flags; everything else is data.
const std::map<std::string, Flag>& flagWords() {
  static const std::map<std::string, Flag> words{
      {"ro", {MS_RDONLY, 0}},        {"rw", {0, MS_RDONLY}},
      {"bind", {MS_BIND, 0}},        {"rbind", {MS_BIND | MS_REC, 0}},
      {"nosuid", {MS_NOSUID, 0}},    {"suid", {0, MS_NOSUID}},
      {"nodev", {MS_NODEV, 0}},      {"dev", {0, MS_NODEV}},
      {"noexec", {MS_NOEXEC, 0}},    {"exec", {0, MS_NOEXEC}},
      {"noatime", {MS_NOATIME, 0}},  {"relatime", {MS_RELATIME, 0}},
      {"sync", {MS_SYNCHRONOUS, 0}}, {"async", {0, MS_SYNCHRONOUS}},
      {"defaults", {0, 0}},
  };
  return words;
}

// Where a mount goes: the rootfs, or a directory inside it named by `target`
// (containerd's mount.Target). It must exist and stay inside the rootfs.
std::string mountPoint(const MountSpec& m, const std::string& rootfs) {
  if (m.target.empty() || m.target == "/") return rootfs;
  std::string rel = m.target;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  for (size_t start = 0; start <= rel.size();) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    if (rel.compare(start, end - start, "..") == 0) {
      throw invalidArgument("mount target \"" + m.target + "\" leaves the rootfs");
    }
    start = end + 1;
  }
  std::string path = rootfs + "/" + rel;
  char resolved[PATH_MAX], root[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    throw invalidArgument("mount target \"" + m.target + "\" does not exist in the rootfs " + rootfs);
  }
  if (::realpath(rootfs.c_str(), root) == nullptr) throw systemError("realpath " + rootfs, errno);
  std::string r = resolved, base = root;
  if (r != base && r.compare(0, base.size() + 1, base + "/") != 0) {
    throw invalidArgument("mount target \"" + m.target + "\" resolves outside the rootfs");
  }
  return r;
}

void mountOne(const MountSpec& m, const std::string& target) {
  unsigned long flags = 0;
  std::string data;
  for (const auto& o : m.options) {
    auto it = flagWords().find(o);
    if (it != flagWords().end()) {
      flags = (flags | it->second.set) & ~it->second.clear;
    } else {
      data += (data.empty() ? "" : ",") + o;
    }
  }
  if (m.type == "bind" || m.type == "rbind") flags |= MS_BIND | (m.type == "rbind" ? MS_REC : 0);
  const char* type = (flags & MS_BIND) ? nullptr : m.type.c_str();
  unsigned long first = (flags & MS_BIND) ? (flags & ~MS_RDONLY) : flags;
  if (::mount(m.source.c_str(), target.c_str(), type, first,
              data.empty() ? nullptr : data.c_str()) != 0) {
    throw invalidArgument("mount " + m.type + " " + m.source + " on " + target + " (options " +
                          (data.empty() ? "none" : data) + "): " + strerror(errno));
  }
  // A bind mount takes MS_RDONLY only on a remount.
  if ((flags & MS_BIND) && (flags & MS_RDONLY)) {
    if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
      int err = errno;
      ::umount2(target.c_str(), MNT_DETACH);
      throw invalidArgument("remount " + target + " read-only: " + strerror(err));
    }
  }
}
}  // namespace

void mountRootfs(const std::vector<MountSpec>& mounts, const std::string& rootfs,
                 const std::string& recordFile) {
  if (mounts.empty()) return;
  if (!pathExists(rootfs)) makeDirs(rootfs, 0755);
  std::string record;
  std::vector<std::string> mounted;
  try {
    for (const auto& m : mounts) {
      if (m.type.empty()) throw invalidArgument("rootfs mount of " + m.source + " has no type");
      std::string point = mountPoint(m, rootfs);
      mountOne(m, point);
      mounted.push_back(point);
      // One line per mount, so a shim that dies halfway leaves a true record.
      record += point + "\n";
      replaceFile(recordFile, record, 0600);
    }
  } catch (...) {
    for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    ::unlink(recordFile.c_str());
    throw;
  }
}

void unmountRootfs(const std::string& recordFile) {
  auto text = readFile(recordFile);
  if (!text) return;
  std::vector<std::string> targets;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) targets.push_back(line);
  }
  for (auto it = targets.rbegin(); it != targets.rend(); ++it) {
    if (::umount2(it->c_str(), 0) != 0 && errno != EINVAL && errno != ENOENT) {
      // Busy (a process still holds it): detach, the kernel finishes later.
      BERTH_LOG(warn) << "umount " << *it << ": " << strerror(errno) << "; detaching";
      ::umount2(it->c_str(), MNT_DETACH);
    }
  }
  ::unlink(recordFile.c_str());
}

}  // namespace berth::shim
