#include "shim/pid_file_watch.h"

#include "common/log.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::shim {

namespace {
std::string dirOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}
}  // namespace

bool PidFileWatch::open() {
  if (failed_) return false;
  if (inotify_) return true;
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    BERTH_LOG(warn) << "inotify_init1: " << strerror(errno) << "; runtime calls are waited for to exit";
    failed_ = true;
    return false;
  }
  inotify_ = std::make_unique<asio::posix::stream_descriptor>(executor_, fd);
  readEvents();
  return true;
}

std::unique_ptr<PidFileWatch::Expectation> PidFileWatch::expect(const std::string& path,
                                                                std::shared_ptr<DoneSignal> renamed) {
  if (!open()) return nullptr;
  std::string dir = dirOf(path);
  Dir& d = dirs_[dir];
  if (d.users == 0) {
    d.wd = ::inotify_add_watch(inotify_->native_handle(), dir.c_str(), IN_MOVED_TO | IN_ONLYDIR);
    if (d.wd < 0) {
      BERTH_LOG(warn) << "inotify_add_watch " << dir << ": " << strerror(errno)
                      << "; waiting for the runtime's exit instead";
      dirs_.erase(dir);
      return nullptr;
    }
    dirOfWd_[d.wd] = dir;
  }
  ++d.users;
  const DoneSignal* signal = renamed.get();
  waiting_.emplace(path, std::move(renamed));
  return std::unique_ptr<Expectation>(new Expectation(this, path, signal));
}

PidFileWatch::Expectation::~Expectation() {
  if (*alive_) owner_->forget(path_, signal_);
}

void PidFileWatch::forget(const std::string& path, const DoneSignal* signal) {
  auto range = waiting_.equal_range(path);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second.get() == signal) {
      waiting_.erase(it);
      break;
    }
  }
  auto d = dirs_.find(dirOf(path));
  if (d == dirs_.end() || --d->second.users > 0) return;
  // (removed at once: see the header on the instance's close)
  ::inotify_rm_watch(inotify_->native_handle(), d->second.wd);
  dirOfWd_.erase(d->second.wd);
  dirs_.erase(d);
}

void PidFileWatch::readEvents() {
  inotify_->async_wait(asio::posix::stream_descriptor::wait_read,
                       [this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    alignas(inotify_event) char buf[4096];
    ssize_t n;
    while ((n = ::read(inotify_->native_handle(), buf, sizeof buf)) > 0) {
      for (ssize_t at = 0; at < n;) {
        auto* e = reinterpret_cast<const inotify_event*>(buf + at);
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
        auto dir = dirOfWd_.find(e->wd);
        if (!(e->mask & IN_MOVED_TO) || e->len == 0 || dir == dirOfWd_.end()) continue;
        auto range = waiting_.equal_range(dir->second + "/" + e->name);
        for (auto it = range.first; it != range.second; ++it) it->second->set();
      }
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      BERTH_LOG(warn) << "reading inotify events: " << strerror(errno)
                      << "; runtime calls are waited for to exit";
      failed_ = true;
      return;
    }
    readEvents();
  });
}

}  // namespace berth::shim
