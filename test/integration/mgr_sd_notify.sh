#!/usr/bin/env bash
# berthd as a systemd Type=notify service: it sends READY=1 to NOTIFY_SOCKET
# once its API socket serves, and keeps the variable from its shims, runc and
# the containers (runc would otherwise hand the socket to every container and
# wait for its READY). notify_listen stands in for systemd.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require
berth_test_init mgr-sd-notify
LISTEN=${BERTH_NOTIFY_LISTEN:-$BUILD/test/integration/notify_listen}
[[ -x $LISTEN ]] || fail "no $LISTEN (build it first)"
"$LISTEN" "$T/notify.sock" 10 >"$T/notify.out" 2>&1 &
lpid=$!
berth_bg "$lpid"
wait_for test -S "$T/notify.sock"
export NOTIFY_SOCKET=$T/notify.sock
berth_start_daemon
unset NOTIFY_SOCKET

echo "--- READY=1 once berthd serves"
st=0
wait "$lpid" || st=$?
assert_eq 0 "$st" "the listener's exit: READY=1 came ($(<"$T/notify.out"))"
assert_contains "$(<"$T/notify.out")" READY=1 "berthd's message"

echo "--- NOTIFY_SOCKET reaches no shim, runc or container"
out=$(ctl run --rm --bundle "$(mkbundle envprint -- env)" e1)
assert_contains "$out" PATH= "the container's environment"
[[ $out != *NOTIFY_SOCKET* ]] || fail "the container got NOTIFY_SOCKET: $out"
ctl run -d --bundle "$(mkbundle_sleeper s)" s1
read -r spid _ <"$T/state/default/s1/shim.pid"
if tr '\0' '\n' <"/proc/$spid/environ" | grep -q '^NOTIFY_SOCKET='; then fail "the shim got NOTIFY_SOCKET"; fi
kill_and_delete s1

berth_leaks_check
echo "mgr-sd-notify: ok"
