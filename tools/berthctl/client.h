// berthctl's connection to berthd: one Asio io_context hosting the KJ loop,
// one Cap'n Proto connection, and the helpers every command shares.
#pragma once

#include "common/asio.h"
#include "common/errors.h"
#include "common/kj_loop.h"
#include "common/rpc.h"

#include "berth.capnp.h"
#include "types.capnp.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace berthctl {

// The global options.
struct Globals {
  std::string address;
  std::string ns;
};

class Client {
 public:
  // Connects at once: unavailable if berthd does not answer on the socket.
  explicit Client(const Globals& globals);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  asio::io_context& io() { return io_; }
  berth::KjLoop& loop() { return loop_; }
  kj::WaitScope& waitScope() { return loop_.waitScope(); }
  berth::RpcConnection& connection() { return *conn_; }
  berth::wire::Berth::Client& api() { return *api_; }
  const Globals& globals() const { return globals_; }

  // Waits for an RPC's result on the loop; a failure becomes a berth::Error.
  template <typename T>
  T wait(kj::Promise<T>&& promise) {
    try {
      return promise.wait(waitScope());
    } catch (const kj::Exception& e) {
      throw berth::fromKjException(e);
    }
  }
  void wait(kj::Promise<void>&& promise) {
    try {
      promise.wait(waitScope());
    } catch (const kj::Exception& e) {
      throw berth::fromKjException(e);
    }
  }

  // berthd went away (a crash, a restart): drops the connection and connects
  // again, every 50 ms for up to `patience`, running the loop meanwhile (an
  // attached process's output still flows: it goes through FIFOs, not
  // berthd). Throws unavailable if berthd is not back in time, or once
  // `giveUp` (asked every round) says so.
  void reconnect(std::chrono::milliseconds patience, const std::function<bool()>& giveUp = {});
  // Counts reconnects: a call sent before one went to the old connection.
  uint64_t generation() const { return generation_; }
  // False while reconnect() waits for berthd (api() must not be used then).
  bool connected() const { return api_ != nullptr; }
  // After a call failed with unavailable: true if berthd itself is gone (it
  // no longer answers `version` on this connection), false if it answered
  // so (a task's shim that is unavailable, say).
  bool berthdGone();
  // Runs the loop for `d`.
  void pause(std::chrono::milliseconds d);

  // How long a wait for an exit (run, exec, wait) waits for a berthd that
  // went away (a crash, an upgrade) to come back. The process is the shim's
  // and keeps running, its output keeps flowing through the FIFOs, and its
  // exit is kept for the new berthd: only the wait for it needs berthd again.
  static constexpr std::chrono::seconds kBerthdPatience{30};

  // Runs `call` (a call to berthd through api()); when berthd went away,
  // connects again (reconnect, which `giveUp` may end early), runs
  // `reconnected`, and calls again.
  template <typename Call>
  auto callReconnecting(Call&& call, const std::function<void()>& reconnected = {},
                        const std::function<bool()>& giveUp = {}) {
    for (;;) {
      try {
        return call();
      } catch (const berth::Error& e) {
        if (e.code() != berth::Code::Unavailable || !berthdGone()) throw;
        reconnect(kBerthdPatience, giveUp);
        if (reconnected) reconnected();
      }
    }
  }

  // Fills a TaskRef with the global namespace and ID.
  void setTask(berth::wire::TaskRef::Builder ref, const std::string& id) const;

  // Sends a call that names task ID (in the global namespace), its other
  // fields already set, and waits for its result (as wait()).
  template <typename Request>
  auto call(Request req, const std::string& id) {
    setTask(req.initTask(), id);
    return wait(req.send());
  }

 private:
  Globals globals_;
  asio::io_context io_;
  berth::KjLoop loop_;
  std::unique_ptr<berth::RpcConnection> conn_;
  std::unique_ptr<berth::wire::Berth::Client> api_;
  uint64_t generation_ = 0;
};

// "created", "running", ... ("unknown" for anything else).
std::string statusName(berth::wire::Status status);

// The contract's exit status: exited c -> c, signaled s -> 128+s, none -> 0.
int exitStatusCode(berth::wire::ExitStatus::Reader status);

// PATH made absolute against the current directory (not resolved; may not exist).
std::string absolutePath(const std::string& path);

// realpath(3) of an existing PATH; invalid-argument "WHAT \"PATH\": strerror" otherwise.
std::string resolvePath(const std::string& what, const std::string& path);

}  // namespace berthctl
