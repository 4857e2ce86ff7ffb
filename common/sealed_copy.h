// A sealed in-memory copy of the OCI runtime binary, to run it from.
//
// Every `runc init` (one per create and per exec) first makes sure it does not
// run from the host's runc binary, which a container could otherwise open
// through /proc/PID/exe and overwrite (CVE-2019-5736). Unless it already runs
// from a memfd sealed against writes, runc 1.1 bind-mounts itself read-only
// on a temp file (two mounts, an umount and a unlink) and execs itself again;
// failing that it copies itself into a memfd. Run from a sealed memfd, runc
// skips all of that (~1.5 ms of CPU per container here, bench/start-rate,
// and no churn in the host's mount table). It is the same protection: the
// seals make the copy read-only for good, for us as for the container.
//
// berthd makes one copy and hands it to every shim it starts; a shim runs its
// runc calls from it for as long as the binary at the path is the one that
// was copied (fileStamp), and from the path once that changed.
//
// What the seals leave open is the copy's mode: root in a container, when it
// catches a `runc init` of an exec in its pid namespace, could chmod it
// through /proc/PID/exe (runc 1.2 adds F_SEAL_EXEC against that, but runc
// 1.1 then takes the copy for a foreign memfd). So whoever runs the copy
// checks its mode first (usableCopy) and falls back to the path, which a
// chmod cannot break, when it is not the one it was made with.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>

namespace berth {

// What tells one version of a file from the next at the same path: a new
// file renamed over it (a package upgrade) has another inode, one rewritten
// in place another ctime or size.
std::string fileStamp(const struct stat& st);
// nullopt when PATH cannot be stat'ed.
std::optional<std::string> fileStampOf(const std::string& path);

// The seals runc checks for (libcontainer/nsenter/cloned_binary.c).
constexpr int kRuntimeCopySeals = 0x0001 | 0x0002 | 0x0004 | 0x0008;  // SEAL, SHRINK, GROW, WRITE

// The copy's mode, as runc 1.2 gives its own clones (1.1 leaves 0777).
constexpr mode_t kRuntimeCopyMode = 0511;

struct SealedCopy {
  int fd = -1;        // memfd, CLOEXEC; the caller owns it
  std::string stamp;  // fileStamp of the file that was copied
};

// Whether FD is still a copy to run: a regular file with runc's seals, owned
// by us and with kRuntimeCopyMode. WHY says what is wrong when it is not.
bool usableCopy(int fd, std::string* why = nullptr);

// Copies the ELF executable at PATH into a memfd named after its base name,
// sealed with kRuntimeCopySeals. Throws a berth::Error naming the step and
// errno; refuses (invalid-argument) a file that is not an ELF executable,
// e.g. a wrapper script (it would need its path to run).
SealedCopy makeSealedCopy(const std::string& path);

}  // namespace berth
