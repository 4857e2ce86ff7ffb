// systemd's readiness protocol, for a berthd run as a Type=notify service:
// READY=1 once the API socket serves (recovery has listed the tasks), and
// STOPPING=1 when it stops. NOTIFY_SOCKET is taken out of the environment
// at start-up, before any child is started: left there it would reach runc
// through the shims, and runc would hand the socket to every container and
// wait for the container's own READY (docker clears it for containerd too).
#pragma once

#include <string>

namespace berth {

class SdNotify {
 public:
  // Takes NOTIFY_SOCKET out of our environment.
  static SdNotify fromEnvironment();

  // Sends `state` ("READY=1") if systemd gave us a socket; a failure is
  // logged, not thrown (berthd serves all the same).
  void send(const std::string& state) const;

 private:
  std::string socket_;  // empty: not run by systemd as Type=notify
};

}  // namespace berth
