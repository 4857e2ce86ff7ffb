#!/usr/bin/env bash
# A disk that stalls under one create's durable record write (its fsync, made
# to wait by stall_fsync.cc) leaves berthd answering everything else: list,
# state, kill and wait of another task, within 1 s. When the disk comes back,
# the create completes.
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
berth_leaks_check
echo "mgr-stalled-disk: ok"
