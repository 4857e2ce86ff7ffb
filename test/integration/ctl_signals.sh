#!/usr/bin/env bash
# berthctl run/exec (without -d) forward the signals they get to the process:
# those that come before the start's answer go once it runs, every one of
# them, in the order they came (only the last one went before).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
source "$HERE/api_lib.sh"
api_init ctl-signals --no-daemon
berth_start_daemon --runtime "$(gated_runtime exec)"
b=$(mkbundle_sleeper s)
ctl run -d --bundle "$b" t1
term_ready t1

echo "--- USR1 then TERM while the exec's start waits: both go, USR1 first"
# (an exec is no PID 1: USR1's default action ends it, 128+10)
"$BERTHCTL" --address "$T/berthd.sock" exec --exec-id e1 t1 -- sleep 1000 &
ctl_pid=$!
berth_bg "$ctl_pid"
wait_for gated_calls exec 1
# berthctl catches both (its handler is set before it sends the exec)
kill -s USR1 "$ctl_pid"
kill -s TERM "$ctl_pid"
kill -0 "$ctl_pid" || fail "berthctl died of a signal it should forward"
touch "$T/open-exec"
st=0
wait "$ctl_pid" || st=$?
assert_eq 138 "$st" "the exec ended by the first signal, USR1 (TERM alone: 143)"

kill_and_delete t1
berth_leaks_check
echo "ctl-signals: ok"
