#!/usr/bin/env bash
# berthd dies in the middle of create, start, exec, delete and event handling
# (the BERTH_CRASH_AT test hook makes it _exit(137) at a named point, see
# manager/crash_point.h); after a restart every half-made task is finished or
# rolled back: no shim without a record, no record without a shim (unless the
# task is stopped and waits for its delete), no runc container, mount or state
# dir without an owner, and no event published twice. Stale files (a shim.sock
# nobody listens on, a shim.pid naming a reused pid) and a shim nobody has a
# record of are recognised and cleaned up.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
source "$HERE/rec_lib.sh"
mgr_require jq
DRIVER=$BUILD/test/shim/shim_driver
[[ -x $DRIVER ]] || fail "missing $DRIVER"
berth_test_init rec-crash-points
WAIT_FOR_TIMEOUT=${WAIT_FOR_TIMEOUT:-15}
berth_start_daemon
b=$(mkbundle_sleeper)
J=$T/root/events.log

# crash_during POINT CMD... — berthd armed to die at POINT; CMD (a client call
# that makes it get there) fails or not; berthd must have died there; then a
# normal berthd is started.
crash_during() {
    local point=$1 st=0
    shift
    berth_kill_daemon TERM
    BERTH_CRASH_AT=$point berth_start_daemon
    local pid=$BERTH_DAEMON_PID
    "$@" >"$T/out" 2>&1 || st=$?
    echo "  [$point] $*: exit $st $(head -c 200 "$T/out")"
    wait_for pid_gone "$pid"
    grep -q "crashing at $point" "$T/berthd.log" || fail "berthd did not die at $point"
    berth_kill_daemon KILL
    assert_eq 137 "$BERTH_DAEMON_STATUS" "berthd's status after the crash at $point"
    berth_start_daemon
}

# events ID TOPIC — how many TOPIC events of ID's init the journal holds.
events() {
    jq -c --arg id "$1" --arg t "$2" 'select(.topic == $t and .task_id == $id and ((.event.id // $id) == $id))' "$J" | wc -l
}
# shim_procs ID — berth-shim processes (start mode) serving ID under $T.
shim_procs() {
    local p c n=0
    for p in /proc/[0-9]*; do
        c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        [[ $c == *berth-shim\ start*"--id $1 "*"$T"* ]] && n=$((n + 1))
    done
    echo "$n"
}
rolled_back() { # ID — nothing of it is left, and the id is free
    local id=$1
    wait_for bash -c "! test -e '$T/root/default/$id' && ! test -e '$T/state/default/$id'"
    expect_error not-found ctl state "$id" >/dev/null
    assert_no_trace default "$id"
    assert_eq 0 "$(shim_procs "$id")" "$id: shim processes left"
    assert_eq "$(events "$id" /tasks/create)" "$(events "$id" /tasks/delete)" "$id: a delete for each create published"
    assert_eq "$(events "$id" /tasks/create)" "$(events "$id" /tasks/exit)" "$id: an exit for each create published"
}
stopped_with() { # ID CODE
    wait_for status_is "$1" stopped
    assert_eq "$2" "$(json_get "$(ctl state "$1")" exit_status)" "$1's exit status"
}

echo "--- create: berthd dies before the record (the shim starting meanwhile), after the record, after the shim started, after runc create"
crash_during before-record ctl run -d --bundle "$b" c0
rolled_back c0
crash_during after-record ctl run -d --bundle "$b" c1
rolled_back c1
crash_during after-shim-start ctl run -d --bundle "$b" c2
rolled_back c2
crash_during after-runc-create ctl run -d --bundle "$b" c3
rolled_back c3
# The ids are free again.
ctl run -d --bundle "$b" c1
assert_eq running "$(status_of c1)" "c1 made again"

echo "--- run: berthd dies once the start's event is journaled (before or after the create's commit)"
crash_during after-start-journaled ctl run -d --bundle "$b" cs
# committed first: the task is reconnected, running; else rolled back. Either
# way its story is whole once it is gone: an exit for its start, a delete.
wait_for bash -c "! $BERTHCTL --address $T/berthd.sock state cs >/dev/null 2>&1 || $BERTHCTL --address $T/berthd.sock state cs | grep -q '\"status\":\"running\"'"
if ctl state cs >/dev/null 2>&1; then
    echo "  (committed before the start's event: reconnected)"
    ctl kill --signal KILL cs
    ctl wait cs >/dev/null
    ctl delete cs >/dev/null
fi
rolled_back cs
assert_eq 1 "$(events cs /tasks/start)" "cs's start published once"
assert_eq 1 "$(events cs /tasks/exit)" "an exit for cs's start"
# The other order, forced: the same crash, and the record put back to what
# it says when the start's event comes in before the create's commit.
berth_kill_daemon TERM
BERTH_CRASH_AT=after-start-journaled berth_start_daemon
crashed=$BERTH_DAEMON_PID
ctl run -d --bundle "$b" cu >/dev/null 2>&1 || true
wait_for pid_gone "$crashed"
berth_kill_daemon KILL
sed -i 's/"created":true/"created":false/' "$T/root/default/cu/task"
grep -q '"created":false' "$T/root/default/cu/task" || fail "cu's record: $(cat "$T/root/default/cu/task")"
berth_start_daemon
rolled_back cu
assert_eq 1 "$(events cu /tasks/start)" "cu's start published once"
assert_eq 1 "$(events cu /tasks/exit)" "the rollback publishes an exit for cu's start"

echo "--- start and exec: the shim did it; berthd died before it answered"
ctl create --bundle "$b" c4
crash_during after-start ctl start c4
wait_for status_is c4 running
assert_eq 1 "$(events c4 /tasks/start)" "c4's start published once"
crash_during after-exec ctl exec -d --exec-id x1 c4 sleep 100
wait_for status_is c4 running
# `exec -d` is add + start; berthd died after the add: the exec waits, created.
assert_eq created "$(json_get "$(ctl state --exec-id x1 c4)" status)" "the exec survived the crash"
ctl start --exec-id x1 c4 >/dev/null
assert_contains "$(ctl pids c4)" '"x1"' "the exec runs"

echo "--- delete: berthd dies before Shim.delete (task running: the delete is dropped)"
crash_during before-shim-delete ctl delete c4
wait_for status_is c4 running
assert_eq false "$(jq ".deleting // false" "$T/root/default/c4/task")" "c4's record no longer says deleting"
ctl kill c4
ctl wait c4 >/dev/null

echo "--- delete: berthd dies after Shim.delete, after the shim's shutdown, before the record goes"
for p in c5:after-shim-delete c6:after-shim-shutdown c7:before-record-remove c8:before-shim-delete; do
    id=${p%%:*} point=${p#*:}
    ctl run -d --bundle "$b" "$id"
    term_ready "$id"
    ctl kill "$id"
    assert_eq 143 "$(json_get "$(ctl wait "$id")" exit_status)" "$id's exit"
    crash_during "$point" ctl delete "$id"
    wait_for bash -c "! $BERTHCTL --address $T/berthd.sock state $id"
    rolled_back "$id"
    assert_eq 1 "$(events "$id" /tasks/exit)" "$id's exit published once"
    assert_eq 1 "$(events "$id" /tasks/delete)" "$id's delete published once"
done

echo "--- events: berthd dies after journaling an exit, before its record"
ctl run -d --bundle "$b" c9
term_ready c9
crash_during after-exit-journaled ctl kill c9
stopped_with c9 143
assert_eq 1 "$(events c9 /tasks/exit)" "c9's exit published once"

echo "--- a lost shim: berthd dies after publishing its exit, before its record"
ctl run -d --bundle "$b" c10
read -r c10shim _ <"$T/state/default/c10/shim.pid"
crash_during after-lost-exit kill -KILL "$c10shim"
stopped_with c10 137
assert_eq 1 "$(events c10 /tasks/exit)" "c10's exit published once"
! runc_list default | grep -qx c10 || fail "c10's container survived its shim"

echo "--- stale files and a shim without a record"
sleep 1000 &
sleeper=$!
fake_pid="$sleeper 12345"  # a live pid, but not with that start time: a reused pid
# ghost: a record; its state dir has a dead socket and a pid file naming the sleep.
mkdir -p "$T/root/default/ghost" "$T/state/default/ghost"
jq -cn --arg b "$b" '{bundle: $b, runtime: "runc", created: true, created_at: 1, last_seq: 2}' \
    >"$T/root/default/ghost/task"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$T/state/default/ghost/shim.sock"
echo "$fake_pid" >"$T/state/default/ghost/shim.pid"
# orphan: a state dir nobody has a record of, with the same stale files.
mkdir -p "$T/state/default/orphan"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$T/state/default/orphan/shim.sock"
echo "$fake_pid" >"$T/state/default/orphan/shim.pid"
# stray: a live shim with a created container, but no record.
sock=$("$BERTH_SHIM" start --namespace default --id stray --bundle "$b" --state-dir "$T/state" --runtime "$BERTH_RUNC" \
    --cgroup-parent "$(berth_cgroup_parent)")
"$DRIVER" "$sock" create stray >/dev/null
read -r strayshim _ <"$T/state/default/stray/shim.pid"
assert_eq stray "$(runc_list default | grep -x stray)" "the stray container exists"
berth_kill_daemon KILL
berth_start_daemon
stopped_with ghost 137
wait_for pid_gone "$strayshim"
wait_for bash -c "! test -e '$T/state/default/orphan' && ! test -e '$T/state/default/stray' && ! test -e '$T/state/default/ghost'"
kill -0 "$sleeper" || fail "recovery killed the process a stale shim.pid named"
kill "$sleeper"
assert_no_trace default stray
assert_no_trace default orphan
ctl delete ghost >/dev/null
assert_no_trace default ghost

echo "--- the end: delete everything; nothing is left"
for id in c1 c4 c9 c10; do
    ctl kill -s KILL "$id" 2>/dev/null || true
    ctl wait "$id" >/dev/null
    ctl delete "$id" >/dev/null
done
assert_eq "[]" "$(ctl list --json)" "no tasks left"
assert_eq "" "$(ls -A "$T/state/default" 2>/dev/null)" "no state dirs left"
[[ ! -e $T/root/default ]] || fail "record dirs left: $(ls -A "$T/root/default")"
assert_eq "" "$(runc_list default)" "no runc containers left"
# Every published seq is unique and in order.
jq -r .seq "$J" | awk 'NR > 1 && $1 <= prev { print "seq " $1 " after " prev; bad = 1 } { prev = $1 } END { exit bad }' ||
    fail "journal seqs out of order"
berth_leaks_check
echo "rec-crash-points: ok"
