#!/usr/bin/env bash
# berthd's own dirs, broken or mismatched, lose nothing:
#  - a task record that cannot be read (garbage, a FIFO) leaves that task's
#    shim, container and files alone, keeps its id taken, and does not stop
#    berthd or the other tasks; mended, the task is back;
#  - a shim.pid without a start time is never taken for the shim's pid;
#  - a second berthd on the same root or state is refused before it touches
#    anything;
#  - a --root that is not the state dir's, or a --state that is not the
#    root's, is refused: either would take the running tasks for orphans or
#    for dead.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require jq
berth_test_init rec-broken-dirs
WAIT_FOR_TIMEOUT=${WAIT_FOR_TIMEOUT:-15}
berth_start_daemon
b=$(mkbundle_sleeper)
for id in ok1 bad1 fifo1; do ctl run -d --bundle "$b" "$id"; done
pid_of() { json_get "$(ctl state "$1")" pid; }
shim_of() { local p; read -r p _ <"$T/state/default/$1/shim.pid"; echo "$p"; }
declare -A init shim
for id in ok1 bad1 fifo1; do init[$id]=$(pid_of "$id"); shim[$id]=$(shim_of "$id"); done

echo "--- records that cannot be read"
berth_kill_daemon KILL
cp "$T/root/default/bad1/task" "$T/bad1.record"
cp "$T/root/default/fifo1/task" "$T/fifo1.record"
printf '{"bundle": 5, "torn' >"$T/root/default/bad1/task"
rm "$T/root/default/fifo1/task"
mkfifo "$T/root/default/fifo1/task"  # its open used to block berthd for good
berth_start_daemon
assert_eq running "$(status_of ok1)" "a task beside the broken ones"
for id in bad1 fifo1; do
    kill -0 "${init[$id]}" || fail "$id's container was killed for its unreadable record"
    kill -0 "${shim[$id]}" || fail "$id's shim was killed for its unreadable record"
    expect_error not-found ctl state "$id" >/dev/null
    msg=$(expect_error failed-precondition ctl create --bundle "$b" "$id")
    assert_contains "$msg" "cannot read" "a create of $id's id"
    assert_contains "$msg" "$T/root/default/$id/task" "the create names the record"
done
assert_eq '{"bundle": 5, "torn' "$(<"$T/root/default/bad1/task")" "bad1's record is kept as it was"
test -p "$T/root/default/fifo1/task" || fail "fifo1's record is gone"
assert_eq "$(printf 'bad1\nfifo1\nok1')" "$(runc_list default | sort)" "runc still has all three"
grep -q "bad1: cannot read its record" "$T/berthd.log" || fail "no log line names bad1's record"
assert_eq '["ok1"]' "$(ctl list --json | jq -c '[.[].id]')" "list"

echo "--- mended, they are back"
berth_kill_daemon KILL
cp "$T/bad1.record" "$T/root/default/bad1/task"
rm "$T/root/default/fifo1/task"
cp "$T/fifo1.record" "$T/root/default/fifo1/task"
berth_start_daemon
for id in bad1 fifo1; do
    wait_for status_is "$id" running
    assert_eq "${init[$id]}" "$(pid_of "$id")" "$id's init after its record is mended"
done

echo "--- a shim.pid without its start time"
# lost1's shim dies while berthd is down, and its pid file names another
# process by its bare pid: recovery must not take that process for the shim
# (and kill it), only find the task lost.
ctl run -d --bundle "$b" lost1
berth_kill_daemon KILL
kill -KILL "$(shim_of lost1)"
sleep 1000 &
decoy=$!
berth_bg "$decoy"
echo "$decoy" >"$T/state/default/lost1/shim.pid"
berth_start_daemon
wait_for status_is lost1 stopped
assert_eq 137 "$(json_get "$(ctl state lost1)" exit_status)" "lost1, whose shim died"
kill -0 "$decoy" || fail "berthd killed the process a shim.pid without a start time named"
kill -TERM "$decoy"
wait "$decoy" 2>/dev/null || true
ctl delete lost1 >/dev/null

echo "--- a record whose bundle is not an absolute path: the lost shim's clean-up still runs"
# \`berth-shim delete\` refused such a bundle, so runc's container ran on
# while the task was reported stopped.
ctl run -d --bundle "$b" nob1
nob1_init=$(pid_of nob1)
berth_kill_daemon KILL
kill -KILL "$(shim_of nob1)"
jq -c '.bundle = "bundles/sleeper"' "$T/root/default/nob1/task" >"$T/nob1.task"
mv "$T/nob1.task" "$T/root/default/nob1/task"
berth_start_daemon
wait_for status_is nob1 stopped
poll_for pid_gone "$nob1_init" || fail "nob1's container runs on after its clean-up"
! runc_list default | grep -qx nob1 || fail "runc still has nob1"
ctl delete nob1 >/dev/null

echo "--- a journal that lost its events: seqs still only grow"
# (a power loss after a rotation's rename, say) berthd numbered from 1 again:
# a consumer resuming with --since its last seq would miss every new event.
last=$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since 0 | tail -1 | jq .seq || true)
((last > 0)) || fail "no events before the journal's loss"
berth_kill_daemon KILL
: >"$T/root/events.log"
berth_start_daemon
grep -q "events.log has lost events" "$T/berthd.log" || fail "no log line tells of the journal's loss"
ctl run -d --bundle "$b" seq1
first=$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since "$last" | head -1 | jq .seq || true)
[[ -n $first ]] || fail "no event after seq $last once the journal lost its events"
((first > last)) || fail "seq $first after the journal's loss, not above $last"
kill_and_delete seq1
# (a restart with no loss is no loss: the ceiling's own margin is not one)
berth_kill_daemon KILL
berth_start_daemon
assert_eq 1 "$(grep -c "events.log has lost events" "$T/berthd.log")" "journal losses logged"

echo "--- one berthd per root and per state"
events_before=$(stat -c %s "$T/root/events.log")
second() { # ARGS... — a second berthd; its status and output in $st, $out
    st=0
    out=$(timeout 10 "$BERTHD" --address "$T/second.sock" --cgroup-parent "$(berth_cgroup_parent)" "$@" \
        </dev/null 2>&1) || st=$?
}
refused() { # WHAT MESSAGE ARGS... — a berthd started with ARGS exits 1 saying MESSAGE
    local what=$1 want=$2
    shift 2
    second "$@"
    assert_eq 1 "$st" "$what ($out)"
    assert_contains "$out" "$want" "$what: its error"
}
refused "a second berthd on the same root" "another berthd uses root $T/root" --root "$T/root" --state "$T/state2"
refused "a second berthd on the same state" "another berthd uses state $T/state" --root "$T/root2" --state "$T/state"
assert_eq "$events_before" "$(stat -c %s "$T/root/events.log")" "the journal after the refused berthd"
test ! -e "$T/second.sock" || fail "a refused berthd made its socket"
assert_eq running "$(status_of ok1)" "ok1 beside the refused berthds"

echo "--- a root and a state that do not belong together"
berth_kill_daemon KILL
refused "berthd with another --root over a state dir with tasks" \
    "holds the tasks of the berthd with --root $T/root" --root "$T/root2" --state "$T/state"
refused "berthd with another --state for a root whose tasks run" \
    "has its tasks running under --state $T/state" --root "$T/root" --state "$T/state2"
refused "berthd with one dir as root and state" "must be different directories" --root "$T/state" --state "$T/state"
# (recovery took the inner one for a namespace and removed it as an orphan)
refused "berthd with its state inside its root" "must not hold one another" --root "$T/root" --state "$T/root/run"
refused "berthd with its root inside its state" "must not hold one another" --root "$T/state/lib" --state "$T/state"
test ! -e "$T/root/run" || fail "a refused berthd made its state dir"
for id in ok1 bad1 fifo1; do
    kill -0 "${init[$id]}" || fail "$id's container died of a mismatched berthd"
done
rm -rf "$T/root2" "$T/state2"

echo "--- a root that moved is still its state dir's"
mv "$T/root" "$T/root-moved"
"$BERTHD" --root "$T/root-moved" --state "$T/state" --address "$T/second.sock" \
    --cgroup-parent "$(berth_cgroup_parent)" </dev/null >>"$T/moved.log" 2>&1 &
moved=$!
berth_bg "$moved"
moved_ready() { "$BERTHCTL" --address "$T/second.sock" list >/dev/null 2>&1; }
poll_for moved_ready || fail "berthd refused its moved root: $(cat "$T/moved.log")"
assert_eq running "$(json_get "$("$BERTHCTL" --address "$T/second.sock" state ok1)" status)" "ok1 under the moved root"
kill -KILL "$moved"
wait "$moved" 2>/dev/null || true
mv "$T/root-moved" "$T/root"
berth_start_daemon
for id in ok1 bad1 fifo1; do assert_eq running "$(status_of "$id")" "$id after the refused starts"; done
kill_and_delete ok1 bad1 fifo1
berth_leaks_check
echo "rec-broken-dirs: ok"
