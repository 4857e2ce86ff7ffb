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
# A failure while the journal is immutable must not leave it so: $T could
# not be removed.
_stalled_exit_trap() {
    local rc=$?
    set +e
    [[ $BASHPID == "$_BERTH_MAIN_PID" ]] || return 0
    chattr -i "$j" 2>/dev/null
    (exit "$rc")
    _berth_exit_trap
}
trap _stalled_exit_trap EXIT
exec {probe}>>"$j"
immutable_fails=0
if chattr +i "$j" 2>/dev/null; then
    { printf '\n' >&"$probe"; } 2>/dev/null || immutable_fails=1 # (an empty line: the journal skips it)
    chattr -i "$j"
fi
exec {probe}>&-
# journaled ID — the topics of ID's journaled events, in order, one line.
journaled() { jq -r --arg id "$1" 'select(.task_id == $id) | .topic' "$j" | tr '\n' ' '; }
journaled_is() { [[ $(journaled "$1") == "$2" ]]; }
if ((immutable_fails)); then
    ctl run -d --bundle "$b" jfail
    chattr +i "$j"
    ctl kill --signal KILL jfail
    sleep 1 # the shim's publish is refused (and retried) meanwhile
    chattr -i "$j"
    # (the shim knows: state and wait answer from it)
    assert_eq 137 "$(json_get "$(ctl wait jfail)" exit_status)" "jfail's exit"
    WAIT_FOR_TIMEOUT=10 wait_for journaled_is jfail "/tasks/create /tasks/start /tasks/exit "
    ctl delete jfail >/dev/null
    assert_eq "/tasks/create /tasks/start /tasks/exit /tasks/delete " "$(journaled jfail)" "jfail's journaled events"

    echo "--- a delete while the journal refuses the exit: the exit and delete still go out"
    # The delete waits 2 s for the shim's last events, then shuts the shim
    # down; what the shim still held went with it, and the task's exit and
    # delete were never journaled.
    ctl run -d --bundle "$b" jdel
    chattr +i "$j"
    ctl kill --signal KILL jdel
    assert_eq 137 "$(json_get "$(ctl wait jdel)" exit_status)" "jdel's exit"
    ctl delete jdel >"$T/jdel.out" 2>&1 &
    jdel_pid=$!
    # (past the delete's 2 s wait for the shim's events, which it gives up)
    wait_for grep -q "jdel: events up to .* berthd publishes the task's end itself" "$T/berthd.log"
    chattr -i "$j"
    wait "$jdel_pid" || fail "the delete failed: $(cat "$T/jdel.out")"
    WAIT_FOR_TIMEOUT=10 wait_for journaled_is jdel "/tasks/create /tasks/start /tasks/exit /tasks/delete "
    assert_eq 137 "$(jq -r 'select(.task_id == "jdel" and .topic == "/tasks/exit") | .event.exit_status' "$j")" \
        "jdel's journaled exit status"

    echo "--- berthd's own events wait for the journal: no seq is handed out twice"
    # A lost shim's exit and its task's delete are made by berthd itself.
    # They must not go out under a seq the journal never saw (a restart would
    # hand it out again, and `--since` would skip the new event), and a
    # restart while they wait must not lose them. The task's state has the
    # exit at once.
    ctl run -d --bundle "$b" lost
    read -r lshim _ <"$T/state/$BERTH_NAMESPACE/lost/shim.pid"
    # seq, topic and task of each event, one a line
    event_lines() { jq -r '"\(.seq) \(.topic) \(.event.container_id)"'; }
    "$BERTHCTL" --address "$T/berthd.sock" events --since 0 >"$T/live.out" 2>/dev/null &
    live_pid=$!
    live_has_start() { event_lines <"$T/live.out" | grep -q ' /tasks/start lost$'; }
    wait_for live_has_start # the subscriber is live
    chattr +i "$j"
    kill -KILL "$lshim"
    lost_stopped() { [[ $(ctl state lost | jq -r .status) == stopped ]]; }
    wait_for lost_stopped
    sleep 0.5 # berthd tries to journal the exit, and waits
    berth_kill_daemon KILL
    wait "$live_pid" || true
    chattr -i "$j"
    berth_start_daemon
    WAIT_FOR_TIMEOUT=10 wait_for journaled_is lost "/tasks/create /tasks/start /tasks/exit "
    ctl delete lost >/dev/null
    ctl run -d --bundle "$b" after
    assert_eq "/tasks/create /tasks/start /tasks/exit /tasks/delete " "$(journaled lost)" "lost's journaled events"
    replay=$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since 0 | event_lines | sort || true)
    assert_eq "" "$(event_lines <"$T/live.out" | sort | comm -23 - <(echo "$replay") | tr '\n' ';')" \
        "events the live subscriber saw, not under the same seq after the restart"
    assert_eq "" "$(cut -d' ' -f1 <<<"$replay" | sort -n | uniq -d | tr '\n' ' ')" "no seq twice"
    ctl kill --signal KILL after
    ctl wait after >/dev/null
    ctl delete after >/dev/null
else
    echo "SKIP (this section): a write to an open file made immutable succeeds on $(stat -f -c %T "$j")"
fi

echo "--- a journal line cut short (a file size limit) is cut off, not glued to the next"
# Under RLIMIT_FSIZE a write crosses the limit by a part of its line and the
# next fails (EFBIG), as on a disk that fills up. The shim sends the exit
# again; its line must start a line of its own, or load() skips both and a
# restart loses an event berthd acknowledged.
if command -v prlimit >/dev/null; then
    ctl run -d --bundle "$b" torn
    WAIT_FOR_TIMEOUT=10 wait_for journaled_is torn "/tasks/create /tasks/start "
    size=$(stat -c %s "$j")
    # (berthd's log, far past the limit, loses its lines meanwhile)
    prlimit --pid "$BERTH_DAEMON_PID" --fsize=$((size + 40)):  # soft: raising the hard one back needs CAP_SYS_RESOURCE
    ctl kill --signal KILL torn
    sleep 1 # the shim's publish is refused (and retried) meanwhile
    prlimit --pid "$BERTH_DAEMON_PID" --fsize=unlimited:
    ! pid_gone "$BERTH_DAEMON_PID" || fail "berthd died at the file size limit"
    WAIT_FOR_TIMEOUT=10 wait_for journaled_is torn "/tasks/create /tasks/start /tasks/exit "
    ctl delete torn >/dev/null
    jq -e . "$j" >/dev/null || fail "the journal has a broken line: $(grep -v '^{.*}$' "$j" | head -3)"
    berth_kill_daemon KILL
    berth_start_daemon
    assert_eq "/tasks/create /tasks/start /tasks/exit /tasks/delete " \
        "$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since 0 |
            jq -r 'select(.event.container_id == "torn") | .topic' | tr '\n' ' ' || true)" \
        "torn's events after a restart"
else
    echo "SKIP (this section): no prlimit"
fi
berth_leaks_check
echo "mgr-stalled-disk: ok"
