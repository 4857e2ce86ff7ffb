#include "tools/berthctl/client.h"

#include "common/ids.h"
#include "common/wire_status.h"

#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace berthctl {

Client::Client(const Globals& globals) : globals_(globals), loop_(io_) {
  conn_ = berth::connectRpc(io_, globals_.address);
  api_ = std::make_unique<berth::wire::Berth::Client>(conn_->peer<berth::wire::Berth>());
}

Client::~Client() {
  // Capabilities before the connection, the connection before the loop.
  api_.reset();
  conn_.reset();
}

void Client::reconnect(std::chrono::milliseconds patience, const std::function<bool()>& giveUp) {
  api_.reset();
  conn_.reset();
  auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    try {
      conn_ = berth::connectRpc(io_, globals_.address);
      api_ = std::make_unique<berth::wire::Berth::Client>(conn_->peer<berth::wire::Berth>());
      ++generation_;
      return;
    } catch (const berth::Error& e) {
      if (giveUp && giveUp()) {
        throw berth::unavailable("berthd went away; stopped waiting for it at a signal: " + e.message());
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        throw berth::unavailable("berthd went away and was not back within " +
                                 std::to_string(patience.count() / 1000) + " s: " + e.message());
      }
    }
    pause(std::chrono::milliseconds(50));
  }
}

bool Client::berthdGone() {
  if (!api_) return true;
  try {
    wait(api_->versionRequest().send());
    return false;
  } catch (const berth::Error&) {
    return true;
  }
}

void Client::pause(std::chrono::milliseconds d) {
  auto paf = kj::newPromiseAndFulfiller<void>();
  asio::steady_timer timer(io_, d);
  timer.async_wait([&fulfiller = *paf.fulfiller](const boost::system::error_code& ec) {
    if (ec != asio::error::operation_aborted) fulfiller.fulfill();  // (aborted: pause() is gone)
  });
  wait(kj::mv(paf.promise));
}

void Client::setTask(berth::wire::TaskRef::Builder ref, const std::string& id) const {
  ref.setNamespace(globals_.ns);
  ref.setId(id);
}

std::string statusName(berth::wire::Status status) {
  using S = berth::wire::Status;
  switch (status) {
    case S::CREATED: return "created";
    case S::RUNNING: return "running";
    case S::STOPPED: return "stopped";
    case S::DELETED: return "deleted";
    case S::PAUSED: return "paused";
    case S::PAUSING: return "pausing";
    default: return "unknown";
  }
}

int exitStatusCode(berth::wire::ExitStatus::Reader status) {
  return static_cast<int>(berth::contractExitStatus(status));
}

std::string absolutePath(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  if (ec) throw berth::invalidArgument("cannot make \"" + path + "\" absolute: " + ec.message());
  return abs.lexically_normal().string();
}

std::string resolvePath(const std::string& what, const std::string& path) {
  char buf[PATH_MAX];
  if (path.empty()) throw berth::invalidArgument(what + " must not be empty");
  if (::realpath(path.c_str(), buf) == nullptr) {
    int err = errno;
    throw berth::invalidArgument(what + " \"" + path + "\": " + std::strerror(err));
  }
  return buf;
}

}  // namespace berthctl
