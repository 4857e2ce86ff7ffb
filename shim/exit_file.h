// The file a process's exit is written to, STATE/exit/NAME ("pid status ns"),
// before its exit event goes out (DESIGN.md: a shim that dies after the exit
// still leaves it for berthd).
//
// Prepared when the process starts: the directory and an empty temp file
// (.NAME.new, a name no process id can have) are made then, so that at the
// exit only a pwrite (to a page allocated then) and a rename (relative to the
// directory, kept open: no path walk) stand between the reap and the event.
// Creating a directory and a file costs 0.5-2 ms on the reference machine's
// ext4 state dir, which was most of the exit latency; on tmpfs it is 20 us.
#pragma once

#include <string>
#include <string_view>

namespace berth::shim {

class ExitFile {
 public:
  ExitFile() = default;
  ExitFile(ExitFile&& other) noexcept;
  ExitFile& operator=(ExitFile&& other) noexcept;
  ~ExitFile();

  // Makes DIR and DIR/.NAME.new. A failure is logged and left to write(),
  // which then creates the file the slow way.
  void prepare(const std::string& dir, const std::string& name);

  // Writes TEXT to DIR/NAME, atomically (readers see all of it or no file).
  // Throws berth::Error naming the syscall.
  void write(std::string_view text);

 private:
  void discard();
  std::string tempName() const;  // .NAME.new, in DIR
  std::string tempPath() const;

  std::string dir_, name_;
  int fd_ = -1;     // the prepared temp file, open for writing
  int dirFd_ = -1;  // DIR (O_PATH), while fd_ is open
};

}  // namespace berth::shim
