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
mgr_require jq
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

echo "--- the event journal cannot be written for a while: the exit comes when it can"
# berthd cannot journal the task's exit (its journal made immutable: writes
# fail with EPERM), so it refuses the shim's publish. The shim must send the
# exit again once the journal takes writes, not wait for a reconnect.
j=$T/root/events.log
exec {probe}>>"$j"
immutable_fails=0
if chattr +i "$j" 2>/dev/null; then
    { printf '\n' >&"$probe"; } 2>/dev/null || immutable_fails=1 # (an empty line: the journal skips it)
    chattr -i "$j"
fi
exec {probe}>&-
if ((immutable_fails)); then
    ctl run -d --bundle "$b" jfail
    journaled() { jq -r --arg id jfail 'select(.task_id == $id) | .topic' "$j" | tr '\n' ' '; }
    journaled_is() { [[ $(journaled) == "$1" ]]; }
    chattr +i "$j"
    ctl kill --signal KILL jfail
    sleep 1 # the shim's publish is refused (and retried) meanwhile
    chattr -i "$j"
    # (the shim knows: state and wait answer from it)
    assert_eq 137 "$(json_get "$(ctl wait jfail)" exit_status)" "jfail's exit"
    WAIT_FOR_TIMEOUT=10 wait_for journaled_is "/tasks/create /tasks/start /tasks/exit "
    ctl delete jfail >/dev/null
    assert_eq "/tasks/create /tasks/start /tasks/exit /tasks/delete " "$(journaled)" "jfail's journaled events"
else
    echo "SKIP (this section): a write to an open file made immutable succeeds on $(stat -f -c %T "$j")"
fi
berth_leaks_check
echo "mgr-stalled-disk: ok"
