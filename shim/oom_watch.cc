#include "shim/oom_watch.h"

#include "common/fsutil.h"
#include "common/log.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace berth::shim {

uint64_t parseOomKill(const std::string& text) {
  std::istringstream in(text);
  std::string key;
  uint64_t value;
  while (in >> key >> value) {
    if (key == "oom_kill") return value;
  }
  return 0;
}

OomWatch::OomWatch(asio::io_context& io, std::function<void()> onOom, std::string cgroupRoot)
    : io_(io), onOom_(std::move(onOom)), cgroupRoot_(std::move(cgroupRoot)) {}

OomWatch::~OomWatch() {
  *alive_ = false;
  if (counterFd_ >= 0) ::close(counterFd_);
}

std::optional<std::string> OomWatch::readCounter() const {
  if (counterFd_ < 0) return std::nullopt;
  // One pread: the file is regenerated on each read from offset 0, and a few
  // short lines (memory.events is the longer, ~100 bytes).
  char buf[4096];
  for (;;) {
    ssize_t n = ::pread(counterFd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;  // ENODEV: the cgroup was removed
    return std::string(buf, static_cast<size_t>(n));
  }
}

void OomWatch::arm(const CgroupPaths& paths) {
  std::string v1 = paths.hasV1("memory") ? paths.v1.at("memory") : "";
  std::string v2 = paths.unified.value_or("");
  const std::string v1Dir = cgroupRoot_ + "/memory" + v1;
  v1_ = !v1.empty();
  if (v1_) {
    counterFile_ = v1Dir + "/memory.oom_control";
  } else if (!v2.empty()) {
    counterFile_ = cgroupRoot_ + v2 + "/memory.events";
  }
  if (counterFile_.empty()) return;
  if (counterFd_ >= 0) ::close(counterFd_);
  notifier_.reset();
  counterFd_ = ::open(counterFile_.c_str(), O_RDONLY | O_CLOEXEC);
  if (counterFd_ < 0) {
    // e.g. cgroup v2 without the memory controller
    BERTH_LOG(debug) << "no OOM watch: open " << counterFile_ << ": " << strerror(errno);
    return;
  }
  if (!v1.empty()) {
    int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int ec = ::open((v1Dir + "/cgroup.event_control").c_str(), O_WRONLY | O_CLOEXEC);
    if (efd >= 0 && ec >= 0) {
      std::string reg = std::to_string(efd) + " " + std::to_string(counterFd_);
      if (::write(ec, reg.data(), reg.size()) == static_cast<ssize_t>(reg.size())) {
        notifier_ = std::make_unique<asio::posix::stream_descriptor>(io_, efd);
        efd = -1;
      }
    }
    if (ec >= 0) ::close(ec);
    if (efd >= 0) ::close(efd);
  } else {
    int in = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (in >= 0 && ::inotify_add_watch(in, counterFile_.c_str(), IN_MODIFY) >= 0) {
      notifier_ = std::make_unique<asio::posix::stream_descriptor>(io_, in);
      in = -1;
    } else {
      BERTH_LOG(warn) << "OOM kills seen only at exits: inotify on " << counterFile_ << ": "
                      << strerror(errno);
    }
    if (in >= 0) ::close(in);
  }
  auto text = readCounter();
  seen_ = text ? parseOomKill(*text) : 0;
  BERTH_LOG(debug) << "oom watch on " << counterFile_ << " (baseline " << seen_ << ")";
  if (notifier_) waitEvent();
}

void OomWatch::waitEvent() {
  notifier_->async_wait(asio::posix::stream_descriptor::wait_read,
                        [this, alive = alive_](const boost::system::error_code& ec) {
                          if (ec || !*alive) return;
                          // (The eventfd's count, or the inotify events:
                          // what matters is the counter, read below.)
                          char drain[512];
                          while (::read(notifier_->native_handle(), drain, sizeof drain) > 0) {
                          }
                          check();
                          // v1 notifies when the OOM starts, before oom_kill
                          // counts the kill: look again shortly.
                          if (v1_) recheck(0);
                          if (*alive && notifier_) waitEvent();
                        });
}

void OomWatch::recheck(int attempt) {
  static constexpr int kDelaysMs[] = {5, 25, 100, 400};
  if (attempt >= 4) return;
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(kDelaysMs[attempt]));
  timer->async_wait([this, alive = alive_, timer, attempt](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    check();
    recheck(attempt + 1);
  });
}

void OomWatch::check() {
  if (counterFd_ < 0) return;
  auto text = readCounter();
  if (!text) {
    // The cgroup is gone (runc delete): nothing more to watch.
    ::close(counterFd_);
    counterFd_ = -1;
    notifier_.reset();
    return;
  }
  uint64_t now = parseOomKill(*text);
  if (now > seen_) {
    seen_ = now;
    onOom_();
  }
}

}  // namespace berth::shim
