#!/usr/bin/env bash
# berthd's errors and their contract codes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require
berth_test_init mgr-errors
berth_start_daemon
b=$(mkbundle_sleeper)

echo "--- invalid ids and namespaces"
expect_error invalid-argument ctl create --bundle "$b" 'bad/id' >/dev/null
expect_error invalid-argument ctl create --bundle "$b" '.hidden' >/dev/null
expect_error invalid-argument ctl -n 'bad ns' create --bundle "$b" t1 >/dev/null
[[ -z $(ls -A "$T/root" | grep -vx -e events.log -e events.log.seq -e berthd.lock) ]] || fail "a refused create touched $T/root"

echo "--- missing bundle"
msg=$(expect_error invalid-argument ctl create --bundle "$T/bundles/nope" t1)
assert_contains "$msg" "$T/bundles/nope" "message names the bundle"
mkdir -p "$T/bundles/empty"
msg=$(expect_error invalid-argument ctl create --bundle "$T/bundles/empty" t1)
assert_contains "$msg" "$T/bundles/empty" "message names the bundle"

echo "--- broken config.json"
bb=$(mkbundle broken -- true)
echo '{ "ociVersion": ' >"$bb/config.json"
st=0
err=$(ctl create --bundle "$bb" t1 2>&1) || st=$?
assert_eq 1 "$st" "create with a broken config.json ($err)"
[[ $err == "berthctl: invalid-argument: "* || $err == "berthctl: failed-precondition: "* ]] ||
    fail "broken config.json: $err"
echo "  $err"
bn=$(mkbundle nobinary -- /no/such/binary)
st=0
err=$(ctl create --bundle "$bn" t1 2>&1) || st=$?
if ((st == 0)); then
    # runc may accept it at create and fail at start instead
    st=0
    err=$(ctl start t1 2>&1) || st=$?
    assert_eq 1 "$st" "start of a missing binary ($err)"
    ctl delete t1 >/dev/null 2>&1 || true
fi
[[ $err == "berthctl: invalid-argument: "* || $err == "berthctl: failed-precondition: "* ]] ||
    fail "missing binary: $err"
assert_contains "$err" "/no/such/binary" "runc's own words name the binary"
echo "  $err"
expect_error not-found ctl state t1 >/dev/null
# attached (run and exec without -d): the failure is one line too, though
# runc also wrote its error into the process's stderr FIFO
for cmd in "run --bundle $bn t1" "run --rm --bundle $bn t1"; do
    st=0
    err=$(ctl $cmd 2>&1 >/dev/null) || st=$?
    assert_eq 1 "$st" "$cmd ($err)"
    assert_eq 1 "$(wc -l <<<"$err")" "one line from '$cmd': $err"
    [[ $err == "berthctl: "* ]] || fail "$cmd: $err"
    ctl delete t1 >/dev/null 2>&1 || true
done
ctl run -d --bundle "$b" t0
st=0
err=$(ctl exec --exec-id x1 t0 -- /no/such/binary 2>&1 >/dev/null) || st=$?
assert_eq 1 "$st" "exec of a missing binary ($err)"
assert_eq 1 "$(wc -l <<<"$err")" "one line from an attached exec of a missing binary: $err"
# as at create: a process runc cannot start is the caller's to fix
[[ $err == "berthctl: invalid-argument: "*/no/such/binary* ]] || fail "exec of a missing binary: $err"
expect_error invalid-argument ctl exec -d --exec-id x2 --cwd /no/such/dir t0 -- true >/dev/null
ctl kill --signal KILL t0
ctl wait t0 >/dev/null
ctl delete t0 >/dev/null

echo "--- unknown task"
for verb in state start kill wait delete pause resume pids metrics; do
    expect_error not-found ctl "$verb" ghost >/dev/null
done
expect_error not-found ctl state --exec-id e1 ghost >/dev/null

echo "--- duplicate id"
ctl create --bundle "$b" t1
msg=$(expect_error already-exists ctl create --bundle "$b" t1)
assert_contains "$msg" "task already exists" "reference wording"
assert_eq created "$(status_of t1)" "the first t1 is untouched"

echo "--- delete of a running task"
ctl start t1
msg=$(expect_error failed-precondition ctl delete t1)
assert_contains "$msg" "task default/t1" "the refusal names the task"
assert_eq running "$(status_of t1)" "still running after the refused delete"
[[ -f $T/root/default/t1/task ]] || fail "refused delete removed the record"

echo "--- exec id errors"
expect_error not-found ctl state --exec-id nosuch t1 >/dev/null
expect_error invalid-argument ctl state --exec-id 'bad/exec' t1 >/dev/null
# an exec named like its task: its exit would pass for the init's
expect_error invalid-argument ctl exec --exec-id t1 t1 -- sh -c 'exit 3' >/dev/null
expect_error invalid-argument ctl exec -d --exec-id t1 t1 -- true >/dev/null
assert_eq running "$(status_of t1)" "t1 after an exec named t1 was refused"

ctl kill --signal KILL t1
assert_eq 137 "$(json_get "$(ctl wait t1)" exit_status)" "SIGKILL exit"
ctl delete t1 >/dev/null

echo "--- messages name the task"
msg=$(expect_error not-found ctl state ghost)
assert_eq "task does not exist: default/ghost" "$msg" "not-found's message"

echo "--- a config.json that is no file: invalid-argument, nothing made"
# (A directory answered internal, EISDIR, from the shim; a FIFO blocked
# the shim's loop in its open until berthd's deadline.)
mkdir -p "$T/cdir/config.json" "$T/cfifo"
mkfifo "$T/cfifo/config.json"
for bad in cdir cfifo; do
    msg=$(expect_error invalid-argument ctl create --bundle "$T/$bad" "$bad")
    assert_contains "$msg" "config.json is not a regular file" "$bad's error"
    [[ ! -e $T/state/default/$bad && ! -e $T/root/default/$bad ]] || fail "the refused create of $bad left dirs"
done

echo "--- namespaces named like berthd's own files"
expect_error invalid-argument ctl -n events.log create --bundle "$b" n1 >/dev/null
expect_error invalid-argument ctl -n events.log.rotating create --bundle "$b" n1 >/dev/null
expect_error invalid-argument ctl -n events.log.seq create --bundle "$b" n1 >/dev/null
expect_error invalid-argument ctl -n berthd.lock create --bundle "$b" n1 >/dev/null
: >"$T/state/taken"
msg=$(expect_error invalid-argument ctl -n taken create --bundle "$b" n1)
assert_contains "$msg" "names a file of berthd's" "a namespace over a file in the state dir"
rm "$T/state/taken"

echo "--- kill of a stopped task whose shim is gone: not-found, as with its shim"
ctl run -d --bundle "$b" k1
read -r k1shim _ <"$T/state/default/k1/shim.pid"
kill -KILL "$k1shim"
wait_for status_is k1 stopped
expect_error not-found ctl kill k1 >/dev/null
ctl delete k1 >/dev/null
berth_leaks_check
echo "mgr-errors: ok"
