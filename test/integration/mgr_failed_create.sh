#!/usr/bin/env bash
# A failed create leaves nothing behind: no record or state dir, no runc
# container, no shim process, no mount — whether it fails in runc (broken
# config.json, missing binary) or before any shim runs (a shim that fails).
# The same for `run`, created and started in one call, when the start fails.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require
berth_test_init mgr-failed-create
berth_start_daemon

nothing_left() { # ID
    [[ ! -e $T/root/default/$1 ]] || fail "$1: task record left: $(ls -la "$T/root/default/$1")"
    [[ ! -e $T/state/default/$1 ]] || fail "$1: state dir left: $(ls -la "$T/state/default/$1")"
    [[ -z $(runc_list default) ]] || fail "$1: runc containers left: $(runc_list default)"
    [[ -z $(shim_pids) ]] || fail "$1: shims left: $(shim_pids)"
    expect_error not-found ctl state "$1" >/dev/null
    assert_eq "[]" "$(ctl list --json | tr -d ' \n')" "$1: nothing listed"
    BERTH_LEAK_GRACE=5 berth_leaks_check
}

echo "--- broken config.json"
bb=$(mkbundle broken -- true)
echo '{ "ociVersion": ' >"$bb/config.json"
ctl create --bundle "$bb" broken 2>/dev/null && fail "create with a broken config.json succeeded"
nothing_left broken
# run sends the start right behind the create: the create's error is the one
# reported, and the start (answered once the create failed) leaves nothing
expect_error invalid-argument ctl run -d --bundle "$bb" brokenrun >/dev/null
nothing_left brokenrun

echo "--- a bundle path that is not UTF-8 (the record could not keep it)"
bl=$(mkbundle $'latin\xfc' -- true)
msg=$(expect_error invalid-argument ctl create --bundle "$bl" latin)
assert_contains "$msg" "not valid UTF-8" "the error says why"
nothing_left latin

echo "--- runc fails to create (missing binary)"
bn=$(mkbundle nobinary -- /no/such/binary)
if ctl create --bundle "$bn" nobin 2>/dev/null; then
    ctl delete nobin >/dev/null
    echo "  (runc created it; only start would fail)"
fi
nothing_left nobin

echo "--- the id is free again after a failed create"
good=$(mkbundle_sleeper good)
ctl create --bundle "$good" broken
assert_eq created "$(status_of broken)" "create after a failed create of the same id"
ctl delete broken >/dev/null
nothing_left broken

echo "--- a shim that cannot start"
berth_kill_daemon TERM
berth_start_daemon --shim /bin/false
msg=$(expect_error internal ctl create --bundle "$good" noshim)
assert_contains "$msg" "berth-shim start" "the error names the step"
nothing_left noshim
# a shim binary that cannot be run at all: the create's undo (berth-shim
# delete) cannot run either, and must still free the id (it stayed taken,
# every later create answering already-exists, until berthd restarted)
berth_kill_daemon TERM
berth_start_daemon --shim "$T/no-such-shim"
for try in 1 2; do
    msg=$(expect_error internal ctl create --bundle "$good" noshimbin)
    assert_contains "$msg" "no-such-shim" "create $try names the shim it could not run"
done
nothing_left noshimbin

echo "--- a runtime that does not exist"
berth_kill_daemon TERM
berth_start_daemon --runtime "$T/no-such-runtime"
st=0
err=$(ctl create --bundle "$good" noruntime 2>&1) || st=$?
assert_eq 1 "$st" "create with a missing runtime ($err)"
echo "  $err"
nothing_left noruntime
echo "--- run: the create succeeds, the start fails"
# runc, except that each created init is killed before anyone can start it,
# and before runc's create is done: the shim (its subreaper) reaps the
# init's exit first, and must still publish it after the create
pid_file_runtime "$T/runc-kills-init" "create exec" '
        [[ $st == 0 ]] || exit $st
        kill -KILL "$(<"$held")"
        sleep 0.2'
berth_kill_daemon TERM
berth_start_daemon --runtime "$T/runc-kills-init"
"$BERTHCTL" --address "$T/berthd.sock" events >"$T/events.out" 2>&1 & # not ctl: $! is berthctl
events_pid=$!
msg=$(expect_error failed-precondition ctl run -d --bundle "$good" nostart)
assert_contains "$msg" "cannot start" "the start's own error"
expect_error failed-precondition ctl run --rm --bundle "$good" nostart2 >/dev/null
ctl create --bundle "$good" created # a create alone is left to its caller
assert_eq stopped "$(status_of created)" "a create alone stays, its init dead"
expect_error failed-precondition ctl start created >/dev/null
ctl delete created >/dev/null
kill "$events_pid"
wait "$events_pid" 2>/dev/null || true
nothing_left nostart
nothing_left nostart2
nothing_left created
# the failed runs were created, then deleted: their events say so, in order,
# as for a create alone whose start failed
topics_of() { grep "\"container_id\":\"$1\"" "$T/events.out" | sed 's/.*"topic":"\([^"]*\)".*/\1/' | tr '\n' ' '; }
for id in nostart nostart2 created; do
    assert_eq "/tasks/create /tasks/exit /tasks/delete " "$(topics_of "$id")" "events of $id"
done

echo "--- the record cannot be saved once the shim has published the create"
# runc, except that after each create the task's record file is replaced by a
# directory: berthd's save of the committed record (in place) then fails, after
# the shim published /tasks/create. The undo must close that story (an exit
# and a delete), not drop it, and leave nothing behind.
pid_file_runtime "$T/runc-breaks-record" create '
        [[ $st == 0 ]] || exit $st
        for id; do :; done
        rm -f "'"$T"'/root/default/$id/task" && mkdir "'"$T"'/root/default/$id/task"'
berth_kill_daemon TERM
berth_start_daemon --runtime "$T/runc-breaks-record"
# (--since 0: the journal's events too, so a late subscription misses none)
"$BERTHCTL" --address "$T/berthd.sock" events --since 0 >"$T/events2.out" 2>&1 &
events_pid=$!
msg=$(expect_error internal ctl create --bundle "$good" unsaved)
assert_contains "$msg" "task" "the error names the record ($msg)"
expect_error internal ctl run -d --bundle "$good" unsavedrun >/dev/null
for id in unsaved unsavedrun; do
    wait_for grep -q "\"topic\":\"/tasks/delete\".*\"container_id\":\"$id\"" "$T/events2.out"
done
kill "$events_pid"
wait "$events_pid" 2>/dev/null || true
nothing_left unsaved
nothing_left unsavedrun
topics2_of() { grep "\"container_id\":\"$1\"" "$T/events2.out" | sed 's/.*"topic":"\([^"]*\)".*/\1/' | tr '\n' ' '; }
assert_eq "/tasks/create /tasks/exit /tasks/delete " "$(topics2_of unsaved)" "events of the undone create"
# the run's start went out behind its create: it may have run before the undo
got=$(topics2_of unsavedrun)
[[ $got == "/tasks/create /tasks/exit /tasks/delete " || $got == "/tasks/create /tasks/start /tasks/exit /tasks/delete " ]] ||
    fail "events of the undone run: $got"
echo "--- runc create is killed after it made the container"
# (its deadline, the OOM killer): runc's own clean-up never ran, and the
# shim must remove the container, or the id's next create meets it
pid_file_runtime "$T/runc-killed-in-create" create '
        [[ $st == 0 ]] && kill -KILL $$'
berth_kill_daemon TERM
berth_start_daemon --runtime "$T/runc-killed-in-create"
msg=$(expect_error internal ctl create --bundle "$good" killedrunc)
assert_contains "$msg" "runc create was killed" "the error says so"
nothing_left killedrunc
berth_kill_daemon TERM
berth_start_daemon
ctl run -d --bundle "$good" killedrunc # the id is free again, for runc too
assert_eq running "$(status_of killedrunc)" "created again"
ctl kill --signal KILL killedrunc
ctl wait killedrunc >/dev/null
ctl delete killedrunc >/dev/null
nothing_left killedrunc
echo "mgr-failed-create: ok"
