#!/usr/bin/env bash
# What berthd or a shim runs ends with it. A `berth-shim delete` that berthd
# started cleans up after a lost shim (runc delete --force ID, then the
# task's state dir); left running after its berthd was SIGKILLed, it finished
# later, after the next berthd had cleaned up the same task itself and a new
# task had taken the id: it killed the new container and removed its state
# dir (rec-chaos's ids come back after a rolled-back create). Here: a shim is
# SIGKILLed, berthd's cleanup of it stalls in runc delete (a wrapper holds it
# 3 s), berthd is SIGKILLed, the next berthd cleans up, and the id is created
# and started again. The new task must outlive the time the old cleanup
# would have needed, and the old cleanup (berth-shim delete and its runc)
# must be gone with its berthd. Likewise a shim SIGKILLed in its runc create:
# the create goes with it, instead of making a container after berthd's
# cleanup that nobody knows of.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require
berth_test_init rec-stale-delete
HOLD=3 # seconds the wrapper holds a delete

# runc, except that `delete` (`create`) first waits HOLD s while
# $T/hold-delete ($T/hold-create) exists, its pid in $T/held.pid
runtime=$(holding_runtime "$HOLD" delete create)
berth_start_daemon --runtime "$runtime"
mkbundle t1 -- sleep 1000 >/dev/null
ctl run -d --bundle "$T/bundles/t1" t1
read -r shim1 _ <"$T/state/default/t1/shim.pid"

echo "--- t1's shim is SIGKILLed; berthd's cleanup of it stalls in runc delete; berthd is SIGKILLed"
touch "$T/hold-delete"
kill -KILL "$shim1"
wait_for test -s "$T/held.pid"
held=$(<"$T/held.pid")
cleaner=$(awk '{ print $4 }' "/proc/$held/stat") # the wrapper's parent: berth-shim delete
assert_contains "$(tr '\0' ' ' <"/proc/$cleaner/cmdline")" "berth-shim delete" "the held runc's parent"
held_since=$(now_ms)
berth_kill_daemon KILL
rm "$T/hold-delete"
# at once, not when the hold would have ended (by then a stale one is done)
WAIT_FOR_TIMEOUT=2 poll_for pid_gone "$cleaner" || fail "berth-shim delete of the SIGKILLed berthd runs on ($cleaner)"
WAIT_FOR_TIMEOUT=2 poll_for pid_gone "$held" || fail "the runc delete of the SIGKILLed berthd's cleanup runs on ($held)"

echo "--- the next berthd cleans t1 up; t1 is created and started again"
berth_start_daemon --runtime "$runtime"
wait_for status_is t1 stopped
assert_eq 137 "$(json_get "$(ctl state t1)" exit_status)" "t1's init, killed with its lost shim"
ctl delete t1 >/dev/null
ctl run -d --bundle "$T/bundles/t1" t1
pid2=$(json_get "$(ctl state t1)" pid)
read -r shim2 _ <"$T/state/default/t1/shim.pid"

echo "--- past the time the old cleanup was held, the new t1 is intact"
while (($(now_ms) < held_since + HOLD * 1000 + 1000)); do sleep 0.1; done
assert_eq running "$(status_of t1)" "the new t1"
kill -0 "$pid2" 2>/dev/null || fail "the new t1's init ($pid2) was killed"
kill -0 "$shim2" 2>/dev/null || fail "the new t1's shim ($shim2) is gone"
[[ -S $T/state/default/t1/shim.sock ]] || fail "the new t1's state dir lost its shim socket"
assert_eq t1 "$(runc_list default)" "runc still has the new t1"
ctl exec --exec-id e1 t1 -- true || fail "an exec in the new t1 failed"

echo "--- t2's shim is SIGKILLed in its runc create: the create goes with it"
rm -f "$T/held.pid"
touch "$T/hold-create"
mkbundle t2 -- sleep 1000 >/dev/null
ctl create --bundle "$T/bundles/t2" t2 >"$T/t2.out" 2>&1 &
creator=$!
wait_for test -s "$T/held.pid"
held=$(<"$T/held.pid")
read -r shim3 _ <"$T/state/default/t2/shim.pid"
assert_eq "$shim3" "$(awk '{ print $4 }' "/proc/$held/stat")" "the held runc create's parent: t2's shim"
held_since=$(now_ms)
kill -KILL "$shim3"
rm "$T/hold-create"
st=0
wait "$creator" || st=$?
((st != 0)) || fail "the create of t2 succeeded although its shim was killed: $(<"$T/t2.out")"
WAIT_FOR_TIMEOUT=2 poll_for pid_gone "$held" || fail "the runc create of t2's dead shim runs on ($held)"
while (($(now_ms) < held_since + HOLD * 1000 + 1000)); do sleep 0.1; done
expect_error not-found ctl state t2 >/dev/null
assert_eq t1 "$(runc_list default)" "runc has no t2 (made after berthd's cleanup)"
ctl run -d --bundle "$T/bundles/t2" t2
assert_eq running "$(status_of t2)" "t2, created again"

for id in t1 t2; do
    ctl kill --signal KILL "$id"
    ctl wait "$id" >/dev/null
    ctl delete "$id" >/dev/null
done
berth_kill_daemon TERM
berth_leaks_check
echo "rec-stale-delete: ok"
