// Filesystem helpers for berth's state directories. Every failure throws a
// berth::Error naming the syscall, the path and errno.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace berth {

// Crash-safe replace: a reader sees either the old or the new content, never
// a partial file. Writes a uniquely named temp file in the same directory
// (O_EXCL, so stale temps from a crashed writer are skipped, not reused),
// fsyncs it, renames it over PATH and fsyncs the directory. The file gets
// exactly MODE (umask is not applied).
void atomicWrite(const std::string& path, std::string_view data, mode_t mode = 0600);

// The same without fsync: readers see the old or the new file, never half of
// one, and it survives a crash of the writer (the page cache does) but not a
// power loss. For runtime state (/run: gone at power loss anyway) and for
// hot paths such as an exit file before its event.
void replaceFile(const std::string& path, std::string_view data, mode_t mode = 0600);

// Writes all of DATA to FD at its offset (retrying EINTR and short writes);
// errors name PATH.
void writeAll(int fd, std::string_view data, const std::string& path);

// PATH's directory: "." for a bare name, "/" for one in the root.
std::string dirName(const std::string& path);

// Rewrites an existing small file in place with one write(2), padding with
// spaces to the old length: for text whose readers skip trailing whitespace
// (JSON). A single write within one page cannot be torn by the writer's
// crash, and unlike a rename over the old file it does not make ext4 start
// writeback (auto_da_alloc: 0.2 ms a file on the reference machine, against
// 5 us). No fsync: state for crashes of berthd, not power loss. Falls back
// to replaceFile when PATH is missing or the text is larger than a page.
void overwriteInPlace(const std::string& path, std::string_view data, mode_t mode = 0600);

// Whole file contents; nullopt only if PATH does not exist (ENOENT). Opened
// non-blocking and checked on that fd: a FIFO, socket, device or directory
// throws invalid-argument instead of blocking the caller (a FIFO's open would
// block berthd's loop), and so does a file larger than MAX_BYTES (a record
// that is a link to /dev/zero, say).
inline constexpr size_t kReadFileLimit = 64u << 20;
// The most a spec-like JSON document may hold: a bundle's config.json, an
// update's resources.
inline constexpr size_t kMaxSpecBytes = 4u << 20;
std::optional<std::string> readFile(const std::string& path, size_t maxBytes = kReadFileLimit);

// The rest of FD (a file, a pipe) until EOF; systemError naming PATH if a read
// fails, invalid-argument once it passes MAX_BYTES (a stream that never ends).
std::string readAll(int fd, const std::string& path, size_t maxBytes);

// mkdir -p. Directories created here get exactly MODE regardless of umask;
// existing directories are left as they are.
void makeDirs(const std::string& path, mode_t mode = 0700);

// rm -rf: no error if PATH is missing, never follows symlinks (a symlink is
// removed, not its target), and refuses (throws) rather than descend into a
// mount point below PATH.
void removeTree(const std::string& path);

// True if a directory entry exists at PATH (lstat: a dangling symlink exists).
bool pathExists(const std::string& path);

// Checks that a bundle's config.json is a file we can read without
// blocking: opened non-blocking and checked on that fd, a regular file of at
// most 4 MiB; invalid-argument if it is missing, too large, or a directory,
// a FIFO, a socket or a device (a FIFO's open would block the caller's loop).
void checkBundleConfig(const std::string& bundle);
// Reads it, checked the same way on the fd it reads (no window for a swap
// to a FIFO).
std::string readBundleConfig(const std::string& bundle);

}  // namespace berth
