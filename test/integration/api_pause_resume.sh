#!/usr/bin/env bash
# pause/resume through berthctl: paused in state and in the freezer, the
# /tasks/paused and /tasks/resumed events; exec into a paused task is refused;
# a paused task killed with SIGKILL is thawed to die and its exit (137) is
# reported; any other signal waits, frozen, for the resume (as with runc and
# containerd's shim); pause of a stopped task and resume of a running one are
# refused.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
source "$HERE/api_lib.sh"
api_init api-pause --no-daemon
# runc, but `runc pause` takes a second while $T/slow-pause exists: the
# pausing status can be seen
cat >"$T/runc-slow-pause" <<EOS
#!/bin/sh
for a in "\$@"; do
    if [ "\$a" = pause ] && [ -e "$T/slow-pause" ]; then sleep 1; fi
done
exec "$(command -v "$BERTH_RUNC")" "\$@"
EOS
chmod +x "$T/runc-slow-pause"
berth_start_daemon --runtime "$T/runc-slow-pause"
b=$(mkbundle counter -- sh -c 'trap "exit 143" TERM; trap "" USR1; i=0; while :; do i=$((i+1)); echo $i >/count; sleep 0.05; done')
events_start

ctl run -d --bundle "$b" t1
pid=$(json_get "$(ctl state t1)" pid)
wait_for test -s "$b/rootfs/count"

echo "--- resume of a running task"
msg=$(expect_error failed-precondition ctl resume t1)
echo "  $msg"
assert_eq running "$(status_of t1)" "still running after the refused resume"

echo "--- pause: pausing, then paused"
touch "$T/slow-pause"
ctl pause t1 &
pause_pid=$!
is_pausing() { [[ $(status_of t1) == pausing ]]; }
poll_for is_pausing || fail "no pausing status while runc pause runs (status $(status_of t1))"
wait "$pause_pid" || fail "pause failed"
rm "$T/slow-pause"
st=$(ctl state t1)
assert_eq paused "$(json_get "$st" status)" "state after pause"
assert_eq "$pid" "$(json_get "$st" pid)" "pid kept"
assert_eq FROZEN "$(freezer_state t1)" "the freezer after pause"
c1=$(<"$b/rootfs/count")
sleep 0.3
c2=$(<"$b/rootfs/count")
assert_eq "$c1" "$c2" "the counter is frozen"
listed=$(ctl list --json)
assert_contains "$listed" '"status":"paused"' "list shows it paused"
wait_for has_event /tasks/paused t1

echo "--- exec into a paused task"
msg=$(expect_error failed-precondition ctl exec --exec-id e1 t1 -- true)
echo "  $msg"
msg=$(expect_error failed-precondition ctl exec -d --exec-id e2 t1 -- true)
expect_error not-found ctl state --exec-id e1 t1 >/dev/null
assert_eq paused "$(status_of t1)" "still paused after the refused exec"

echo "--- resume"
ctl resume t1
assert_eq running "$(status_of t1)" "state after resume"
assert_eq THAWED "$(freezer_state t1)" "the freezer after resume"
wait_for has_event /tasks/resumed t1
c1=$(<"$b/rootfs/count")
counter_moved() { [[ $(<"$b/rootfs/count") != "$c1" ]]; }
wait_for counter_moved
out=$(ctl exec --exec-id e3 t1 -- echo exec-after-resume)
assert_eq exec-after-resume "$out" "exec after resume"

echo "--- kill of a paused task"
ctl pause t1
assert_eq paused "$(status_of t1)" "paused again"
ctl kill --signal KILL t1
w=$(timeout 10 "$BERTHCTL" --address "$T/berthd.sock" wait t1) || fail "wait on the killed paused task: $?"
assert_eq 137 "$(json_get "$w" exit_status)" "exit status of the killed paused task"
st=$(ctl state t1)
assert_eq stopped "$(json_get "$st" status)" "state after the kill"
assert_eq 137 "$(json_get "$st" exit_status)" "state's exit_status"
wait_for has_event /tasks/exit t1
assert_eq 137 "$(json_get "$(event_line /tasks/exit t1)" event.exit_status)" "exit event"
# It stays paused until its exit: the thaw that lets the SIGKILL land is
# no resume (it used to turn the task running with no /tasks/resumed).
topics=$(jq -r 'select(.event.container_id == "t1") | .topic' "$T/events.out" | tr '\n' ' ')
assert_eq "/tasks/exit " "${topics##*/tasks/paused }" "t1's events after its last /tasks/paused"
wait_for pid_gone "$pid"

echo "--- pause/resume of a stopped task"
msg=$(expect_error failed-precondition ctl pause t1)
echo "  $msg"
msg=$(expect_error failed-precondition ctl resume t1)
assert_eq stopped "$(status_of t1)" "still stopped"

echo "--- pause of a created task, then kill with SIGTERM while paused"
ctl create --bundle "$b" t2
msg=$(expect_error failed-precondition ctl pause t2)
echo "  pause of a created task: $msg"
ctl start t2
term_ready t2  # a SIGTERM is judged when sent: the trap must be there before the freeze
ctl pause t2
ctl kill t2
sleep 0.3
assert_eq paused "$(json_get "$(ctl state t2)" status)" "a paused task keeps a SIGTERM pending"
ctl resume t2
w=$(timeout 10 "$BERTHCTL" --address "$T/berthd.sock" wait t2) || fail "wait on the paused task killed with SIGTERM: $?"
assert_eq 143 "$(json_get "$w" exit_status)" "SIGTERM to a paused task, delivered at resume"

echo "--- pause twice, delete of a paused task"
ctl run -d --bundle "$b" t3
wait_for test -s "$b/rootfs/count"
ctl exec -d --exec-id e1 t3 -- sleep 100
ctl pause t3
expect_error failed-precondition ctl pause t3 >/dev/null
msg=$(expect_error failed-precondition ctl delete t3)
echo "  $msg"
assert_eq paused "$(status_of t3)" "still paused after the refused delete"

echo "--- a harmless signal to a paused task leaves it paused"
ctl kill --signal USR1 t3
sleep 0.2
c1=$(<"$b/rootfs/count")
sleep 0.3
st=$(status_of t3)
echo "  after SIGUSR1: status $st, freezer $(freezer_state t3)"
if [[ $st == paused ]]; then
    assert_eq FROZEN "$(freezer_state t3)" "the freezer after SIGUSR1 to the paused task"
    assert_eq "$c1" "$(<"$b/rootfs/count")" "the paused task (status $st) runs on after SIGUSR1"
fi

echo "--- the exec processes of a paused task"
es=$(json_get "$(ctl state --exec-id e1 t3)" status)
echo "  exec e1 of the paused t3: $es"
st=0
err=$(ctl kill --exec-id e1 --signal KILL t3 2>&1) || st=$?
if ((st == 0)); then
    # accepted: then it must take effect while the task stays paused
    w=$(timeout 5 "$BERTHCTL" --address "$T/berthd.sock" wait --exec-id e1 t3) ||
        fail "SIGKILL to exec e1 of a paused task was accepted but e1 did not exit within 5 s"
    assert_eq 137 "$(json_get "$w" exit_status)" "exec killed while paused"
else
    [[ $err == "berthctl: failed-precondition: "* ]] || fail "kill --exec-id of a paused task: $err"
fi
assert_eq paused "$es" "state --exec-id of a running exec in a paused task (containerd: paused)"
ctl kill --signal KILL t3
w=$(timeout 10 "$BERTHCTL" --address "$T/berthd.sock" wait t3) || fail "wait t3"
assert_eq 137 "$(json_get "$w" exit_status)" "t3"

echo "--- a paused init killed from the host dies at the resume: resumed, then its exit"
ctl run -d --bundle "$b" t4
ctl pause t4
kill -s KILL "$(json_get "$(ctl state t4)" pid)"  # lands when thawed
ctl resume t4
w=$(timeout 10 "$BERTHCTL" --address "$T/berthd.sock" wait t4) || fail "wait t4"
assert_eq 137 "$(json_get "$w" exit_status)" "t4, killed while frozen"
ctl delete t4 >/dev/null

ctl delete t1 >/dev/null
ctl delete t2 >/dev/null
ctl delete t3 >/dev/null
wait_for has_event /tasks/delete t4
events_stop
# each task's paused/resumed events, in order
topics=$(grep -o '"topic":"/tasks/\(paused\|resumed\)","event":{"container_id":"t1"' "$T/events.out" | cut -d'"' -f4 | tr '\n' ' ')
assert_eq "/tasks/paused /tasks/resumed /tasks/paused " "$topics" "t1's pause events"
topics=$(grep -o '"topic":"/tasks/[a-z-]*","event":{"container_id":"t4"' "$T/events.out" | cut -d'"' -f4 | tr '\n' ' ')
assert_eq "/tasks/create /tasks/start /tasks/paused /tasks/resumed /tasks/exit /tasks/delete " "$topics" \
    "t4's events: the resume before the exit it let happen"

echo "--- two resumes at once: one resumes, the other is refused"
# The second passed the status check while the first was in runc: it failed
# with runc's "container not paused" (internal), or both thawed and two
# /tasks/resumed went out.
berth_kill_daemon TERM
berth_start_daemon --runtime "$(gated_runtime resume exec kill)"
touch "$T/open-exec" "$T/open-kill" # (shut only where a case needs it)
events_start
ctl run -d --bundle "$b" r1
ctl pause r1
ctl resume r1 &
first=$!
berth_bg "$first"
wait_for gated_calls resume 1
st=0
err=$(timeout 5 "$BERTHCTL" --address "$T/berthd.sock" resume r1 2>&1) || st=$?
assert_eq 1 "$st" "the second resume's exit ($err)"
assert_eq "berthctl: failed-precondition: cannot resume task r1 while a resume is under way" "$err" \
    "the second resume's error"
touch "$T/open-resume"
wait "$first" || fail "the first resume failed"
assert_eq running "$(status_of r1)" "r1 after the resume"

echo "--- a pause while an exec's start is in runc waits for the start"
# runc exec's init had joined the cgroup when the freeze caught it: runc exec
# hung to its deadline (internal), and the process it left ran untracked.
rm "$T/open-exec"
ctl exec -d --exec-id e1 r1 -- sleep 1000 &
ex=$!
berth_bg "$ex"
wait_for gated_calls exec 1
ctl pause r1 &
pauser=$!
berth_bg "$pauser"
wait_for status_is r1 pausing
sleep 0.3
! pid_gone "$pauser" || fail "the pause did not wait for the exec's start"
touch "$T/open-exec"
WAIT_FOR_TIMEOUT=10 wait_for pid_gone "$ex" # (into a frozen task, runc exec hung for 60 s)
wait "$ex" || fail "the exec's start failed"
wait "$pauser" || fail "the pause failed"
assert_eq paused "$(status_of r1)" "r1 after the pause"
assert_eq FROZEN "$(freezer_state r1)" "r1's freezer after the pause"
assert_eq paused "$(json_get "$(ctl state --exec-id e1 r1)" status)" "e1 after its start (its task paused)"
ctl resume r1
assert_eq running "$(json_get "$(ctl state --exec-id e1 r1)" status)" "e1 after the resume"

echo "--- a resume while a kill --all of the paused task is in runc: refused"
# runc kill --all freezes, signals and thaws; the shim then froze the task
# again, after a resume had thawed it and said so: frozen, shown running.
ctl pause r1
assert_eq FROZEN "$(freezer_state r1)" "r1's freezer before the kill --all"
refused_while_gated kill "cannot resume task r1 while a kill --all is under way" \
    kill --all --signal USR1 r1 // resume r1
assert_eq paused "$(status_of r1)" "r1 after the kill --all"
assert_eq FROZEN "$(freezer_state r1)" "r1's freezer after the kill --all"
ctl resume r1
assert_eq running "$(status_of r1)" "r1 after its resume"
ctl kill --signal KILL r1
ctl wait r1 >/dev/null
ctl delete r1 >/dev/null
wait_for has_event /tasks/delete r1
events_stop
assert_eq 3 "$(grep -c '"topic":"/tasks/resumed","event":{"container_id":"r1"' "$T/events.out")" "r1's /tasks/resumed"

echo "--- a SIGKILL while a pause waits for an exec's start: the pause gives up, the task dies"
# (a freeze after the kill could land before its processes died: on v1 they
# never would, and the task would stay frozen)
ctl run -d --bundle "$b" r2
rm "$T/open-exec"
n=$(_gated_count exec)
ctl exec -d --exec-id e2 r2 -- sleep 1000 &
ex=$!
berth_bg "$ex"
wait_for gated_calls exec $((n + 1))
"$BERTHCTL" --address "$T/berthd.sock" pause r2 >"$T/pause2.out" 2>&1 &
pauser=$!
berth_bg "$pauser"
wait_for status_is r2 pausing
ctl kill --all --signal KILL r2
touch "$T/open-exec"
st=0
wait "$pauser" || st=$?
assert_eq 1 "$st" "the pause ($(<"$T/pause2.out"))"
assert_contains "$(<"$T/pause2.out")" "it is being killed" "the pause's error"
wait "$ex" || true # (its start may fail: the task died under it)
assert_eq 137 "$(json_get "$(timeout 10 "$BERTHCTL" --address "$T/berthd.sock" wait r2)" exit_status)" "r2's exit"
ctl delete r2 >/dev/null

echo "--- a freeze that does not settle at once is tried again"
# runc gives up on a v1 freeze that stays FREEZING through its own retries (a
# task forking hard on a loaded host): the pause answered internal. Here a
# wrapper fails the first runc pause as runc does then.
cat >"$T/runc-freeze-once" <<END
#!/bin/bash
if [[ " \$* " == *" pause "* && ! -e "$T/froze-once" ]]; then
    : >"$T/froze-once"
    args=("\$@")
    for ((i = 0; i < \${#args[@]}; i++)); do [[ \${args[i]} == --log ]] && log=\${args[i+1]}; done
    echo '{"level":"error","msg":"unable to freeze","time":"2026-01-01T00:00:00Z"}' >>"\$log"
    exit 1
fi
exec $(command -v "$BERTH_RUNC") "\$@"
END
chmod +x "$T/runc-freeze-once"
berth_kill_daemon TERM
berth_start_daemon --runtime "$T/runc-freeze-once"
ctl run -d --bundle "$b" f1
ctl pause f1
test -e "$T/froze-once" || fail "the wrapper's failing pause never ran"
assert_eq paused "$(status_of f1)" "f1 after a pause whose first freeze failed"
ctl kill --signal KILL f1
ctl wait f1 >/dev/null
ctl delete f1 >/dev/null
berth_kill_daemon TERM
berth_leaks_check
echo "api-pause-resume: ok"
