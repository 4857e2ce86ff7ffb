#!/usr/bin/env bash
# berthd SIGKILL + restart: tasks stay listed and running; an exit that happens
# while berthd is down is delivered once after it comes back; a shim that died
# (or hangs) meanwhile is cleaned up and its task becomes stopped with
# /tasks/exit published; a shim killed while berthd runs likewise. seq grows
# strictly across restarts.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require jq
berth_test_init mgr-restart
# Recovery's deadline is 2 s a shim; cleaning up a lost one runs `berth-shim delete`.
WAIT_FOR_TIMEOUT=${WAIT_FOR_TIMEOUT:-15}
berth_start_daemon
b=$(mkbundle_sleeper)

shim_pid_of() { local p; read -r p _ <"$T/state/default/$1/shim.pid"; echo "$p"; }
for id in t1 t2 t4; do ctl run -d --bundle "$b" "$id"; done
ctl create --bundle "$b" t3
t1pid=$(json_get "$(ctl state t1)" pid)
t2pid=$(json_get "$(ctl state t2)" pid)
t4pid=$(json_get "$(ctl state t4)" pid)
t3shim=$(shim_pid_of t3)
t4shim=$(shim_pid_of t4)
last=$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since 0 | tail -1 || true)
last_seq=$(json_get "$last" seq)
echo "last seq before the crash: $last_seq"

echo "--- SIGKILL berthd; meanwhile t2 exits, t3's shim dies, t4's shim hangs"
berth_kill_daemon KILL
kill -0 "$t1pid" || fail "t1 died with berthd"
kill -TERM "$t2pid"
poll_for bash -c "! kill -0 $t2pid 2>/dev/null" || fail "t2 did not exit on SIGTERM"
kill -KILL "$t3shim"
kill -STOP "$t4shim"

berth_start_daemon
restarted=$(now_ms)
listed=$(ctl list --json)
echo "list while loading: $listed"
assert_contains "$listed" '"id":"t4"' "t4 listed while its shim is being checked"
# while a shim is being checked, list shows the task as berthd last knew it
# (its record), never a status outside the contract's words
jq -e 'all(.[]; .status | IN("created", "running", "stopped", "paused", "pausing", "deleted"))' \
    <<<"$listed" >/dev/null || fail "a status outside the contract while loading: $listed"
t4listed=$(jq -c '.[] | select(.id == "t4")' <<<"$listed")
if [[ $(json_get "$t4listed" status) == running ]]; then
    assert_eq "$t4pid" "$(json_get "$t4listed" pid)" "t4's pid while its shim is being checked"
else  # the 2 s deadline already passed (a loaded machine): cleaned up
    assert_eq stopped "$(json_get "$t4listed" status)" "t4 while its shim is being checked"
fi
assert_eq running "$(status_of t1)" "t1 still running after the restart"
assert_eq "$t1pid" "$(json_get "$(ctl state t1)" pid)" "same init"
wait_for status_is t2 stopped
assert_eq 143 "$(json_get "$(ctl state t2)" exit_status)" "t2's exit while berthd was down"
wait_for status_is t3 stopped
assert_eq 137 "$(json_get "$(ctl state t3)" exit_status)" "t3: shim gone, no exit file"
wait_for status_is t4 stopped
assert_eq 137 "$(json_get "$(ctl state t4)" exit_status)" "t4: hung shim killed"
poll_for pid_gone "$t4shim" || fail "the hung shim of t4 still runs"
took=$(($(now_ms) - restarted))
echo "lost shims cleaned up $took ms after the restart"
# 2 s deadline + kill + `berth-shim delete` (runc delete --force): seconds, not tens.
((took < 10000)) || fail "cleaning up the lost shims took $took ms (is \`berth-shim delete\` slow to exit?)"
assert_eq "$(printf 't1\nt2')" "$(runc_list default | sort)" "runc containers after recovery"

after=$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since "$last_seq" || true)
echo "$after"
assert_eq 1 "$(grep -c '"topic":"/tasks/exit".*"container_id":"t2"\|"container_id":"t2".*"topic":"/tasks/exit"' <<<"$after")" \
    "t2's exit delivered exactly once"
grep -q '"container_id":"t3"' <<<"$after" || fail "no /tasks/exit for t3"
grep -q '"container_id":"t4"' <<<"$after" || fail "no /tasks/exit for t4"

echo "--- a shim killed while berthd runs"
kill -KILL "$(shim_pid_of t1)"
wait_for status_is t1 stopped
assert_eq 137 "$(json_get "$(ctl state t1)" exit_status)" "t1 after its shim died"
poll_for pid_gone "$t1pid" || fail "t1's init survived its shim's cleanup"

echo "--- restart again (SIGTERM): the lost tasks keep their exits"
before=$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since 0 | wc -l || true)
berth_kill_daemon TERM
assert_eq 0 "$BERTH_DAEMON_STATUS" "berthd exits 0 on SIGTERM"
berth_start_daemon
for id in t1 t3 t4; do
    wait_for status_is "$id" stopped
    assert_eq 137 "$(json_get "$(ctl state "$id")" exit_status)" "$id after the second restart"
done
assert_eq 143 "$(json_get "$(ctl state t2)" exit_status)" "t2 after the second restart"
sleep 0.5
assert_eq "$before" "$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since 0 | wc -l || true)" \
    "no new events from a plain restart"

for id in t1 t2 t3 t4; do
    ctl delete "$id" >/dev/null
    expect_error not-found ctl state "$id" >/dev/null
done
all=$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since 0 || true)
prev=0
while read -r line; do
    s=$(json_get "$line" seq)
    ((s > prev)) || fail "seq $s after $prev"
    prev=$s
done <<<"$all"
assert_eq 4 "$(grep -c '/tasks/delete' <<<"$all")" "a delete event for each task"

echo "--- an attached run outlives a restart of berthd: output, exit status, --rm"
# berthctl's FIFO dirs under $T: one SIGKILLed by a failing run's cleanup
# cannot remove its own
mkdir -p "$T/fifos"
export TMPDIR=$T/fifos
# restart_berthd [CMD...] — SIGKILL berthd, run CMD while it is down, give its
# clients a moment to find it gone (they try again), and start it again.
restart_berthd() {
    berth_kill_daemon KILL
    "$@"
    sleep 0.3
    berth_start_daemon
}
# bg_status PID — wait for a background job of this script, bounded (a lost
# exit or signal fails here, not at meson's timeout); its status in $st.
bg_status() {
    wait_for pid_gone "$1"
    st=0
    wait "$1" || st=$?
}
# restart_then_release GO PID — restart berthd, then let the container's
# process end (it waits for the file GO) and collect PID's status in $st.
restart_then_release() {
    restart_berthd
    touch "$1"
    bg_status "$2"
}
# The process is the shim's and its output goes through FIFOs: berthctl
# waits for berthd to come back, then for the exit. (ctr gives up here.)
ab=$(mkbundle attached -- sh -c 'echo before; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after; exit 7')
ctl run --rm --bundle "$ab" att >"$T/att.out" 2>"$T/att.err" &
att=$!
wait_for grep -q before "$T/att.out"
restart_then_release "$ab/rootfs/tmp/go" "$att"
assert_eq 7 "$st" "the attached run's exit status across the restart ($(cat "$T/att.err"))"
assert_eq "before after" "$(tr '\n' ' ' <"$T/att.out" | sed 's/ $//')" "its output"
expect_error not-found ctl state att >/dev/null

echo "--- a signal berthctl forwards while berthd is down reaches the process once it is back"
tb=$(mkbundle trapper -- sh -c 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.05; done')
"$BERTHCTL" --address "$T/berthd.sock" run --bundle "$tb" trap1 >"$T/trap.out" 2>"$T/trap.err" &
trap1=$! # berthctl's own pid (not a subshell's, as with ctl &)
wait_for grep -q ready "$T/trap.out"
restart_berthd kill -TERM "$trap1"
bg_status "$trap1"
assert_eq 3 "$st" "the trapping process's status ($(cat "$T/trap.err"))"
assert_contains "$(cat "$T/trap.out")" got-term "the forwarded TERM"
ctl delete trap1 >/dev/null

echo "--- a second signal while berthd is down: berthctl stops waiting, the process runs on"
"$BERTHCTL" --address "$T/berthd.sock" run --bundle "$tb" trap2 >"$T/trap2.out" 2>"$T/trap2.err" &
trap2=$!
wait_for grep -q ready "$T/trap2.out"
berth_kill_daemon KILL
sleep 0.2
kill -TERM "$trap2"
sleep 0.2
kill -TERM "$trap2"
bg_status "$trap2"
assert_eq 1 "$st" "berthctl's status when it stops waiting"
assert_contains "$(cat "$T/trap2.err")" "berthctl: unavailable: berthd went away; stopped waiting" "its error"
berth_start_daemon
assert_eq running "$(status_of trap2)" "the process runs on"
ctl kill --signal KILL trap2
ctl wait trap2 >/dev/null
ctl delete trap2 >/dev/null

echo "--- the end of berthctl's stdin while berthd is down reaches the process once it is back"
cb=$(mkbundle catter -- cat)
mkfifo "$T/in"
"$BERTHCTL" --address "$T/berthd.sock" run --bundle "$cb" cat1 <"$T/in" >"$T/cat.out" 2>"$T/cat.err" &
cat1=$!
exec {catin}>"$T/in"
echo one >&$catin
wait_for grep -q one "$T/cat.out"
berth_kill_daemon KILL
exec {catin}>&- # berthctl's stdin ends: its close-stdin finds berthd gone
sleep 0.3
berth_start_daemon
bg_status "$cat1"
assert_eq 0 "$st" "cat's status: it got the end of its input ($(cat "$T/cat.err"))"
ctl delete cat1 >/dev/null

echo "--- berthctl wait outlives a restart of berthd"
ctl run -d --bundle "$ab" waited
rm -f "$ab/rootfs/tmp/go"
ctl wait waited >"$T/waited.out" 2>"$T/waited.err" &
waiter=$!
sleep 0.5 # it has connected and sent its wait
restart_then_release "$ab/rootfs/tmp/go" "$waiter"
assert_eq 0 "$st" "berthctl wait across the restart ($(cat "$T/waited.err"))"
assert_eq 7 "$(json_get "$(cat "$T/waited.out")" exit_status)" "the exit it printed"
ctl delete waited >/dev/null

echo "--- an attached exec outlives a restart of berthd"
eb=$(mkbundle execs -- sleep 100)
ctl run -d --bundle "$eb" ex
ctl exec --exec-id e1 ex -- sh -c 'echo e1; while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 5' \
    >"$T/ex.out" 2>"$T/ex.err" &
ex=$!
wait_for grep -q e1 "$T/ex.out"
restart_then_release "$eb/rootfs/tmp/go" "$ex"
assert_eq 5 "$st" "the attached exec's exit status across the restart ($(cat "$T/ex.err"))"
ctl kill --signal KILL ex
ctl wait ex >/dev/null
ctl delete ex >/dev/null

echo "--- a signal while run --rm waits for berthd to come back for its delete"
# berthd dies as it takes the delete; berthctl ended at the signal only
# after 30 s of retrying: signals after the exit were caught and dropped
berth_kill_daemon TERM
BERTH_CRASH_AT=before-shim-delete berth_start_daemon
hb=$(mkbundle hello -- echo hello)
"$BERTHCTL" --address "$T/berthd.sock" run --rm --bundle "$hb" rm1 >"$T/rm1.out" 2>"$T/rm1.err" &
rm1=$!
wait_for pid_gone "$BERTH_DAEMON_PID"
sleep 0.2 # (berthctl retries its delete)
kill -TERM "$rm1"
WAIT_FOR_TIMEOUT=5 bg_status "$rm1"
assert_eq 1 "$st" "berthctl's status when it stops waiting"
assert_contains "$(<"$T/rm1.err")" "berthctl: unavailable: berthd went away; stopped waiting" "its error"
assert_eq hello "$(<"$T/rm1.out")" "its output"
berth_kill_daemon KILL
berth_start_daemon # (it finishes the delete it died in)
wait_for bash -c "! test -e '$T/root/default/rm1'"

assert_eq "" "$(ls "$T/fifos")" "berthctl's FIFO dirs are gone"
berth_leaks_check
echo "mgr-restart: ok"
