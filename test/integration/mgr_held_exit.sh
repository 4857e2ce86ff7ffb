#!/usr/bin/env bash
# A created task deleted while an exec's start is still in runc: the delete
# kills the init, whose exit the shim holds back until that start is done
# (an exec-started before the init's exit). The delete waited only for the
# exit's reap: it published /tasks/delete first, and berthd then shut the
# shim down before the held exit went out at all. The task's events must be
# create, exec-added, exit, delete, and the exec's start must fail cleanly.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require jq
berth_test_init mgr-held-exit

# runc, except that `exec` first waits 1 s while $T/hold-exec exists, its
# pid in $T/held.pid
berth_start_daemon --runtime "$(holding_runtime 1 exec)"
b=$(mkbundle_sleeper)
ctl create --bundle "$b" t1
touch "$T/hold-exec"
"$BERTHCTL" --address "$T/berthd.sock" exec -d --exec-id e1 t1 -- sleep 100 >"$T/exec.out" 2>&1 &
execer=$!
wait_for test -s "$T/held.pid"
d=$(ctl delete t1)
assert_eq 137 "$(json_get "$d" exit_status)" "the delete's exit (its init killed)"
st=0
wait "$execer" || st=$?
assert_eq 1 "$st" "the exec's start, its task deleted meanwhile ($(<"$T/exec.out"))"
[[ $(<"$T/exec.out") == "berthctl: failed-precondition: "* || $(<"$T/exec.out") == "berthctl: not-found: "* ]] ||
    fail "the exec's start: $(<"$T/exec.out")"
topics=$(jq -r 'select(.event.container_id == "t1") | .topic' "$T/root/events.log" | tr '\n' ' ')
assert_eq "/tasks/create /tasks/exec-added /tasks/exit /tasks/delete " "$topics" "t1's events"
expect_error not-found ctl state t1 >/dev/null
berth_kill_daemon TERM
berth_leaks_check
echo "mgr-held-exit: ok"
