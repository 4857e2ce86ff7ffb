#!/usr/bin/env bash
# A disk that stalls under one create's durable record write (its fsync, made
# to wait by stall_fsync.cc) leaves berthd answering everything else: list,
# state, kill and wait of another task, within 1 s. When the disk comes back,
# the create completes. The same for the durable write of a task whose shim
# died (its record keeps the exit): list and state of the others answer, and
# the dead one's state says stopped at once.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require
berth_test_init mgr-stalled-disk

[[ -f ${BERTH_STALL_FSYNC_SO:-} ]] || fail "no BERTH_STALL_FSYNC_SO (build first: meson builds stall_fsync)"
stall=$T/stall-fsync
LD_PRELOAD=$BERTH_STALL_FSYNC_SO BERTH_TEST_FSYNC_STALL=$stall berth_start_daemon
b=$(mkbundle_sleeper)

ctl create --bundle "$b" before
ctl start before

touch "$stall"
ctl create --bundle "$b" slow >"$T/slow.out" 2>&1 &
slow_pid=$!
wait_for test -e "$stall.hit"

echo "--- while the create of 'slow' waits for the disk"
timed 1000 "the disk was stalled" ctl list
timed 1000 "the disk was stalled" ctl state before
timed 1000 "the disk was stalled" ctl kill --signal KILL before
timed 1000 "the disk was stalled" ctl wait before
kill -0 "$slow_pid" || fail "the create returned before the disk came back: $(cat "$T/slow.out")"

echo "--- the disk comes back"
rm -f "$stall"
wait "$slow_pid" || fail "the create failed: $(cat "$T/slow.out")"
assert_eq created "$(status_of slow)" "the create completed"

ctl delete slow >/dev/null
ctl delete before >/dev/null

echo "--- a shim dies while the disk stalls"
ctl run -d --bundle "$b" other
ctl run -d --bundle "$b" victim
read -r vshim _ <"$T/state/$BERTH_NAMESPACE/victim/shim.pid"
rm -f "$stall.hit"
touch "$stall"
kill -KILL "$vshim"
wait_for test -e "$stall.hit" # berthd writes the victim's record with its exit
ctl delete victim >"$T/victim.out" 2>&1 & # waits for the task to settle
victim_pid=$!
timed 1000 "the disk was stalled" ctl list
timed 1000 "the disk was stalled" ctl state other
timed 1000 "the disk was stalled" ctl state victim
assert_eq stopped "$(status_of victim)" "a task whose shim died is stopped at once"
kill -0 "$victim_pid" || fail "the delete returned before the record was written: $(cat "$T/victim.out")"
rm -f "$stall"
wait "$victim_pid" || fail "the delete failed: $(cat "$T/victim.out")"
assert_eq 137 "$(json_get "$(cat "$T/victim.out")" exit_status)" "the lost task's exit, as delete returns it"
ctl kill --signal KILL other
ctl wait other >/dev/null
ctl delete other >/dev/null
berth_leaks_check
echo "mgr-stalled-disk: ok"
