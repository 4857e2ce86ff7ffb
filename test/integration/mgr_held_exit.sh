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

# runc, except that `exec` and `start` first wait 1 s while $T/hold-exec or
# $T/hold-start exists, the pid in $T/held.pid
berth_start_daemon --runtime "$(holding_runtime 1 exec start)"
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

echo "--- a delete while the init's start is in runc waits for the start"
# (A poststart hook makes the shim start the init with `runc start`, not
# through the exec fifo.) The init is created until its start is done: the
# delete used to kill it under the start, and answer and publish
# /tasks/delete before the start's /tasks/start. Now it is answered once
# the start is done: the task runs, and a running task is not deleted.
rm -f "$T/hold-exec" "$T/held.pid"
mkdir -p "$T/hooked"
jq --arg root "$b/rootfs" '.hooks = {poststart: [{path: "/bin/true"}]} | .root.path = $root' \
    "$b/config.json" >"$T/hooked/config.json"
ctl create --bundle "$T/hooked" t2
touch "$T/hold-start"
"$BERTHCTL" --address "$T/berthd.sock" start t2 >"$T/start.out" 2>&1 &
starter=$!
wait_for test -s "$T/held.pid"
msg=$(expect_error failed-precondition ctl delete t2)
echo "  $msg"
assert_contains "$msg" "running" "the delete's answer, after the start"
wait "$starter" || fail "the start of t2: $(<"$T/start.out")"
rm -f "$T/hold-start"
assert_eq running "$(status_of t2)" "t2 after its start"
ctl kill --signal KILL t2
ctl wait t2 >/dev/null
ctl delete t2 >/dev/null
topics=$(jq -r 'select(.event.container_id == "t2") | .topic' "$T/root/events.log" | tr '\n' ' ')
assert_eq "/tasks/create /tasks/start /tasks/exit /tasks/delete " "$topics" "t2's events"

echo "--- an init killed while runc starts it: failed-precondition, not internal"
# runc start answers "cannot start a container that has stopped"; that was
# passed on as runc's failure (internal).
# (runc start held until the kill is in: the fifo releases it)
berth_kill_daemon TERM
berth_start_daemon --runtime "$(holding_runtime 30 start)"
rm -f "$T/held.pid"
ctl create --bundle "$T/hooked" t3
t3pid=$(json_get "$(ctl state t3)" pid)
touch "$T/hold-start"
"$BERTHCTL" --address "$T/berthd.sock" start t3 >"$T/start3.out" 2>&1 &
starter=$!
wait_for test -s "$T/held.pid"
kill -KILL "$t3pid"
poll_for pid_gone "$t3pid" || fail "t3's init survived SIGKILL"
timeout 5 bash -c 'echo go >"$1"' _ "$T/hold.fifo" || true # (a wrapper that gave up reads no more)
st=0
wait "$starter" || st=$?
rm -f "$T/hold-start"
assert_eq 1 "$st" "the start of an init killed under it ($(<"$T/start3.out"))"
assert_contains "$(<"$T/start3.out")" "berthctl: failed-precondition: " "its error"
wait_for status_is t3 stopped
ctl delete t3 >/dev/null
berth_kill_daemon TERM
berth_leaks_check
echo "mgr-held-exit: ok"
