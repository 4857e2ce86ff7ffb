#!/usr/bin/env bash
# The contract (contract/CLI.md) word for word: the JSON keys of every command
# that prints JSON (state, list --json, wait, delete, pids, metrics, events and
# each topic's event fields), status words, RFC 3339 nanosecond UTC times, the
# error line "berthctl: CODE: message" with exit 1 for every code from a real
# cause, and exit 2 for usage errors.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
source "$HERE/api_lib.sh"
api_init api-contract
b=$(mkbundle_sleeper)
ob=$(mkbundle oom --memory $((16 * 1024 * 1024)) -- sh -c 'x=$(head -c 60000000 /dev/zero | tr "\0" a); echo survived')
events_start

TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'
ZERO_TIME=0001-01-01T00:00:00.000000000Z  # Go's zero time, nanoseconds as everywhere
# keys_are JSON "K1 K2 ..." WHAT — exactly these top-level keys, in this order
keys_are() { assert_eq "$2" "$(json_keys "$1")" "$3 keys ($1)"; }
is_time() { [[ $1 =~ $TIME_RE ]] || fail "$2: '$1' is not RFC 3339 UTC with nanoseconds"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]] || fail "$2: '$1' is not a number"; }
# array_objects JSON — the objects of a one-line JSON array of flat objects, one a line
array_objects() { sed -e 's/^\[//' -e 's/\]$//' -e 's/},{/}\n{/g' <<<"$1" | grep -v '^$' || true; }

echo "--- state"
ctl create --bundle "$b" --stdout "$T/t1.out" t1
st=$(ctl state t1)
keys_are "$st" "id pid status exit_status exited_at stdin stdout stderr terminal" "state"
assert_eq t1 "$(json_get "$st" id)" "state id"
assert_eq created "$(json_get "$st" status)" "state status"
is_uint "$(json_get "$st" pid)" "state pid"
assert_eq 0 "$(json_get "$st" exit_status)" "exit_status before the exit"
assert_eq "$ZERO_TIME" "$(json_get "$st" exited_at)" "exited_at before the exit"
assert_eq "" "$(json_get "$st" stdin)" "stdin absent"
assert_eq "$T/t1.out" "$(json_get "$st" stdout)" "stdout path"
assert_eq false "$(json_get "$st" terminal)" "terminal"
[[ $st == *'"terminal":false'* && $st == *'"pid":'[0-9]* && $st == *'"exit_status":0'* ]] ||
    fail "state's numbers and booleans are not JSON numbers/booleans: $st"
ctl start t1
assert_eq running "$(status_of t1)" "status word after start"

echo "--- list"
l=$(ctl list --json)
[[ $l == '['*']' ]] || fail "list --json is not an array: $l"
assert_eq 1 "$(array_objects "$l" | wc -l)" "one task listed ($l)"
o=$(array_objects "$l")
keys_are "$o" "id pid status" "list --json entry"
assert_eq t1 "$(json_get "$o" id)" "listed id"
assert_eq running "$(json_get "$o" status)" "listed status"
table=$(ctl list)
read -r h1 h2 h3 <<<"$(head -1 <<<"$table")"
assert_eq "ID PID STATUS" "$h1 $h2 $h3" "list header"
read -r c1 c2 c3 <<<"$(sed -n 2p <<<"$table")"
assert_eq "t1 $(json_get "$o" pid) running" "$c1 $c2 $c3" "list row"
assert_eq "$table" "$(ctl ls)" "ls is list"
ctl -n other-$$ list --json | grep -qx '\[\]' || fail "another namespace lists t1"

echo "--- pids"
p=$(ctl pids t1)
[[ $p == '['*']' ]] || fail "pids is not an array: $p"
while read -r o; do
    k=$(json_keys "$o")
    [[ $k == pid || $k == "pid info" ]] || fail "pids entry keys '$k': $o"
    is_uint "$(json_get "$o" pid)" "pids pid"
done < <(array_objects "$p")
assert_contains "$p" "\"pid\":$(json_get "$(ctl state t1)" pid)" "pids has the init"

echo "--- metrics"
m=$(ctl metrics t1)
keys_are "$m" "memory cpu pids" "metrics"
mk=$(json_keys "$(json_get "$m" memory)")
[[ $mk == "usage limit max_usage oom_kills"* ]] || fail "metrics memory keys: $mk"
ck=$(json_keys "$(json_get "$m" cpu)")
[[ $ck == "usage_ns user_ns system_ns"* ]] || fail "metrics cpu keys: $ck"
keys_are "$(json_get "$m" pids)" "current limit" "metrics pids"

# two_deletes ID NAME — two `ctl delete ID` at once; each one's stdout, stderr
# and exit code in $T/NAME{1,2}.{out,err,rc}
two_deletes() {
    local i pids=()
    for i in 1 2; do
        (ctl delete "$1" >"$T/$2$i.out" 2>"$T/$2$i.err" && echo 0 >"$T/$2$i.rc" || echo $? >"$T/$2$i.rc") &
        pids+=($!)
    done
    wait "${pids[@]}"
}

echo "--- exec"
ctl exec -d --exec-id e1 t1 -- sleep 100
es=$(ctl state --exec-id e1 t1)
echo "  exec state: $es"
k=$(json_keys "$es")
# the contract's fields in its order; an extra exec_id may follow them
[[ $k == "id pid status exit_status exited_at stdin stdout stderr terminal" ||
    $k == "id pid status exit_status exited_at stdin stdout stderr terminal exec_id" ]] ||
    fail "exec state keys: $k"
assert_eq running "$(json_get "$es" status)" "exec status"
# a process without a terminal: nothing to resize, no error (containerd's answer)
ctl resize --width 80 --height 24 t1
ctl resize --exec-id e1 --width 80 --height 24 t1
out=$(ctl exec --exec-id e2 t1 -- sh -c 'echo out; echo err >&2; exit 7' 2>"$T/e2.err") && st=0 || st=$?
assert_eq 7 "$st" "exec without -d exits with the process's status"
assert_eq out "$out" "exec's stdout"
assert_eq err "$(<"$T/e2.err")" "exec's stderr"
assert_eq piped "$(echo piped | ctl exec --exec-id e3 t1 -- cat)" "exec forwards stdin, and its end"
# --env and --cwd reach the process (on top of the task's own environment)
out=$(ctl exec --exec-id e4 --env FOO=bar --env 'SP=a b' --cwd /tmp t1 -- sh -c 'echo "$FOO|$SP|$PATH"; pwd')
path=$(grep -o '"PATH=[^"]*"' "$b/config.json")
path=${path#'"PATH='}
assert_eq "bar|a b|${path%'"'}
/tmp" "$out" "exec --env, --cwd"
ctl kill --exec-id e1 --signal 9 t1
w=$(ctl wait --exec-id e1 t1)
keys_are "$w" "exit_status exited_at" "wait --exec-id"
assert_eq 137 "$(json_get "$w" exit_status)" "exec killed by 9"
# an exec that exited has nothing to signal, with --all too (its pid, once
# reaped, may be another process's): not-found, as without --all
for all in "" --all; do
    expect_error not-found ctl kill $all --exec-id e1 --signal 9 t1 >/dev/null
done
d=$(ctl delete --exec-id e1 t1)
keys_are "$d" "pid exit_status exited_at" "delete --exec-id"

# deletes racing each other: the task runs, so each is refused on its own
# (failed-precondition), and it runs on
two_deletes t1 rdel
for i in 1 2; do
    assert_eq 1 "$(<"$T/rdel$i.rc")" "delete of a running task (racing another)"
    [[ $(<"$T/rdel$i.err") == "berthctl: failed-precondition: "* ]] || fail "racing delete $i: $(<"$T/rdel$i.err")"
done
assert_eq running "$(status_of t1)" "the task runs on after refused deletes"

echo "--- pause, resume, signals by name"
ctl pause t1
assert_eq paused "$(status_of t1)" "status word paused"
ctl resume t1
ctl kill --signal SIGTERM t1
w=$(ctl wait t1)
keys_are "$w" "exit_status exited_at" "wait"
assert_eq 143 "$(json_get "$w" exit_status)" "exit_status"
is_time "$(json_get "$w" exited_at)" "wait exited_at"
st=$(ctl state t1)
assert_eq stopped "$(json_get "$st" status)" "status word stopped"
assert_eq "$(json_get "$w" exited_at)" "$(json_get "$st" exited_at)" "state's exited_at is wait's"
# two deletes at once: one deletes it, the other finds it gone
two_deletes t1 del
assert_eq "0 1" "$(sort -n "$T/del1.rc" "$T/del2.rc" | tr '\n' ' ' | sed 's/ $//')" "two concurrent deletes: one wins"
[[ $(<"$T/del1.rc") == 0 ]] && d=$(<"$T/del1.out") lost=$T/del2.err || d=$(<"$T/del2.out") lost=$T/del1.err
[[ $(<"$lost") == "berthctl: not-found: "* ]] || fail "the losing delete: $(<"$lost")"
keys_are "$d" "pid exit_status exited_at" "delete"
assert_eq "$(json_get "$st" pid)" "$(json_get "$d" pid)" "delete's pid"
assert_eq 143 "$(json_get "$d" exit_status)" "delete's exit_status"

echo "--- run, run --rm, an OOM kill"
assert_eq hi "$(ctl run --rm --bundle "$(mkbundle hi -- echo hi)" r1)" "run forwards stdout"
assert_eq $'a\nb' "$(printf 'a\nb\n' | ctl run --rm --bundle "$(mkbundle catter -- cat)" r3)" \
    "run forwards stdin, and its end"
assert_eq "" "$(ctl run --rm --bundle "$T/bundles/catter" r4 </dev/null)" "run with an empty stdin"
expect_error not-found ctl state r1 >/dev/null
st=0
ctl run --rm --bundle "$(mkbundle seven -- sh -c 'exit 7')" r2 || st=$?
assert_eq 7 "$st" "run exits with the process's status"
st=0
ctl run --bundle "$ob" oom1 >"$T/oom.out" || st=$?
assert_eq 137 "$st" "run of a task killed by the OOM killer"
[[ ! -s $T/oom.out ]] || fail "the OOM task survived: $(<"$T/oom.out")"
wait_for has_event /tasks/oom oom1
ctl delete oom1 >/dev/null

echo "--- run forwards the signals a user or a supervisor sends, and exits with the process's status"
bt=$(mkbundle traps -- sh -c 'for s in INT:3 TERM:4 HUP:5 QUIT:6 USR1:7 USR2:8; do trap "exit ${s#*:}" ${s%:*}; done
                              echo ready; while :; do sleep 0.1; done')
mkdir -p "$T/fifos" # (TMPDIR: berthctl's FIFO dirs where only this test looks)
for s in INT:3 TERM:4 HUP:5 QUIT:6 USR1:7 USR2:8; do
    sig=${s%:*} want=${s#*:}
    TMPDIR=$T/fifos "$BERTHCTL" --address "$T/berthd.sock" run --rm --bundle "$bt" rs >"$T/rs.out" 2>&1 &
    rs=$!
    wait_for grep -q ready "$T/rs.out"
    kill -s "$sig" "$rs"
    # (a background job of this shell inherits SIGINT and SIGQUIT ignored:
    # berthctl must catch them all the same)
    WAIT_FOR_TIMEOUT=10 wait_for pid_gone "$rs"
    st=0
    wait "$rs" || st=$?
    assert_eq "$want" "$st" "run, its process trapping SIG$sig"
    expect_error not-found ctl state rs >/dev/null
done
[[ -z $(ls -A "$T/fifos") ]] || fail "berthctl left its FIFO dirs: $(ls -A "$T/fifos")"

echo "--- IO paths: a regular file is created if missing, stdin too"
cb=$(mkbundle cat -- sh -c 'cat; echo done')
ctl create --bundle "$cb" --stdin "$T/new-in.txt" --stdout "$T/new-out.txt" io1
[[ -f $T/new-in.txt && -f $T/new-out.txt ]] || fail "missing IO files were not created"
ctl start io1
assert_eq 0 "$(json_get "$(ctl wait io1)" exit_status)" "cat of an empty, new stdin file"
assert_eq done "$(cat "$T/new-out.txt")" "its stdout"
ctl delete io1 >/dev/null
expect_error invalid-argument ctl create --bundle "$cb" --stdin "$T/no/such/dir/in" \
    --stdout "$T/io2-out.txt" --stderr "$T/new-out.txt" io2 >/dev/null
# the refused create leaves no file it made, and keeps the one that was there
[[ ! -e $T/io2-out.txt ]] || fail "a refused create left the stdout file it created"
assert_eq done "$(cat "$T/new-out.txt")" "a file that was there before the refused create"
# a symlink to a log file that is not there yet: the file is made through it
ln -s "$T/linked-out.txt" "$T/link-out"
ctl create --bundle "$cb" --stdout "$T/link-out" io5
[[ -f $T/linked-out.txt ]] || fail "an IO symlink's target was not created"
ctl delete io5 >/dev/null
# with a terminal too (the shim copies a regular file into the pty)
printf 'echo from-file\n' >"$T/tty-in.txt"
ctl create --tty --bundle "$(mkbundle tsh -- sh)" --stdin "$T/tty-new-in.txt" --stdout "$T/tty-new-out.txt" io3
[[ -f $T/tty-new-in.txt && -f $T/tty-new-out.txt ]] || fail "missing IO files were not created with --tty"
ctl delete io3 >/dev/null
# a terminal process that moves its stdio elsewhere runs on: its pty's output
# ends, but the shim must not hang up its terminal (SIGHUP) before it exits
# (an exec: the container's pid 1 would ignore the SIGHUP anyway)
ctl run -d --bundle "$(mkbundle_sleeper)" dt1
ctl exec -d --tty --exec-id away dt1 -- sh -c 'exec </dev/null >/dev/null 2>&1; exec sleep 1000'
sleep 0.5
assert_eq running "$(json_get "$(ctl state --exec-id away dt1)" status)" \
    "a terminal exec whose stdio went elsewhere"
ctl kill --exec-id away --signal KILL dt1
assert_eq 137 "$(json_get "$(ctl wait --exec-id away dt1)" exit_status)" "its exit, by our SIGKILL"
ctl kill --signal KILL dt1
ctl wait dt1 >/dev/null
ctl delete dt1 >/dev/null
ctl create --tty --bundle "$T/bundles/tsh" --stdin "$T/tty-in.txt" --stdout "$T/tty-out.txt" io4
ctl start io4
wait_for grep -q '^from-file' "$T/tty-out.txt"
ctl kill --signal KILL io4
ctl wait io4 >/dev/null
ctl delete io4 >/dev/null

echo "--- an attached terminal exec whose stdin stays open lets go of it all at its exit"
ctl run -d --bundle "$(mkbundle tsleep -- sleep 1000)" ty1
read -r tshim _ <"$T/state/$BERTH_NAMESPACE/ty1/shim.pid"
shim_fds() { ls "/proc/$tshim/fd" | wc -l; }
before=$(shim_fds)
mkfifo "$T/held-stdin"
exec 8<>"$T/held-stdin" # a stdin that never ends, like a person's terminal
st=0
out=$(timeout 20 "$BERTHCTL" --address "$T/berthd.sock" exec --tty --exec-id h1 ty1 -- \
    sh -c 'echo hi; exit 4' <&8) || st=$?
exec 8>&-
assert_eq 4 "$st" "exec --tty's status with its stdin still open"
assert_contains "$out" hi "exec --tty's output"
expect_error not-found ctl state --exec-id h1 ty1 >/dev/null
# the exec's pty master and its stdout and stdin FIFOs were kept for good
assert_eq "$before" "$(shim_fds)" "the shim's open fds after the exec"
ctl kill --signal KILL ty1
ctl wait ty1 >/dev/null
ctl delete ty1 >/dev/null

echo "--- errors: exit 1, one line 'berthctl: CODE: message'"
# err_line CODE CMD... — also: nothing on stdout, exactly one stderr line
err_line() {
    local code=$1 rc=0
    shift
    "$@" >"$T/err.out" 2>"$T/err.err" || rc=$?
    assert_eq 1 "$rc" "exit of: $* ($(<"$T/err.err"))"
    assert_eq 1 "$(wc -l <"$T/err.err")" "stderr lines of: $* ($(<"$T/err.err"))"
    [[ $(<"$T/err.err") =~ ^berthctl:\ $code:\ .+ ]] || fail "$*: wanted 'berthctl: $code: …', got: $(<"$T/err.err")"
    [[ ! -s $T/err.out ]] || fail "$*: printed on stdout: $(<"$T/err.out")"
    echo "  $(<"$T/err.err")"
}
ctl create --bundle "$b" t2
err_line not-found ctl state ghost
err_line not-found ctl state --exec-id ghost t2
err_line not-found ctl kill ghost
err_line already-exists ctl create --bundle "$b" t2
err_line invalid-argument ctl create --bundle "$T/bundles/none" t3
err_line invalid-argument ctl create --bundle "$b" 'no/slash'
err_line invalid-argument ctl kill --signal NOSUCHSIG t2
err_line failed-precondition ctl resume t2
ctl start t2
err_line failed-precondition ctl delete t2
err_line failed-precondition ctl start t2
ctl exec -d --exec-id x1 t2 -- sleep 100
err_line already-exists ctl exec -d --exec-id x1 t2 -- true
ctl kill --all --signal KILL t2
ctl wait t2 >/dev/null
err_line failed-precondition ctl pause t2
ctl delete t2 >/dev/null

echo "--- usage errors: exit 2"
usage() {
    local rc=0
    "$@" >/dev/null 2>"$T/usage.err" || rc=$?
    assert_eq 2 "$rc" "usage error: $* ($(head -1 "$T/usage.err"))"
    [[ -s $T/usage.err ]] || fail "usage error without a word: $*"
}
usage ctl
usage ctl nosuchcommand
usage ctl state
usage ctl create t9
usage ctl kill --nosuchflag t9
usage ctl update t9
usage ctl checkpoint t9
usage ctl resize --width 80 t9
usage ctl wait a b
usage ctl run --rm -d --bundle "$b" t9
expect_error not-found ctl state t9 >/dev/null

echo "--- events"
wait_for has_event /tasks/delete t2
events_stop
checked=' '
while IFS= read -r line; do
    keys_are "$line" "seq timestamp namespace topic event" "event line"
    is_uint "$(json_get "$line" seq)" "seq"
    is_time "$(json_get "$line" timestamp)" "event timestamp"
    assert_eq "$BERTH_NAMESPACE" "$(json_get "$line" namespace)" "event namespace"
    topic=$(json_get "$line" topic)
    ev=$(json_get "$line" event)
    case $topic in
        /tasks/create) want="container_id bundle rootfs io checkpoint pid"
            keys_are "$(json_get "$ev" io)" "stdin stdout stderr terminal" "create's io" ;;
        /tasks/start) want="container_id pid" ;;
        /tasks/exit | /tasks/delete) want="container_id id pid exit_status exited_at"
            is_time "$(json_get "$ev" exited_at)" "$topic exited_at" ;;
        /tasks/oom | /tasks/paused | /tasks/resumed) want="container_id" ;;
        /tasks/exec-added) want="container_id exec_id" ;;
        /tasks/exec-started) want="container_id exec_id pid" ;;
        /tasks/checkpointed) want="container_id checkpoint" ;;
        *) fail "unknown topic $topic: $line" ;;
    esac
    keys_are "$ev" "$want" "$topic event"
    checked+="$topic "
done <"$T/events.out"
for topic in /tasks/create /tasks/start /tasks/exit /tasks/delete /tasks/oom /tasks/exec-added \
    /tasks/exec-started /tasks/paused /tasks/resumed; do
    [[ $checked == *" $topic "* ]] || fail "no $topic event seen"
done
line=$(event_line /tasks/exit t1 e1)
assert_eq 137 "$(json_get "$line" event.exit_status)" "exec exit event"
line=$(event_line /tasks/exit t1)
assert_eq 143 "$(json_get "$line" event.exit_status)" "init exit event"
f=$(timeout 5 "$BERTHCTL" --address "$T/berthd.sock" events --topic /tasks/exit --since 0 | head -3) ||
    true
assert_eq 3 "$(grep -c '"topic":"/tasks/exit"' <<<"$f")" "events --topic /tasks/exit --since 0 ($f)"

echo "--- the namespace without -n and BERTH_NAMESPACE"
env -u BERTH_NAMESPACE "$BERTHCTL" --address "$T/berthd.sock" create --bundle "$b" dflt
assert_eq created "$(json_get "$(ctl -n default state dflt)" status)" "a task made without a namespace"
ctl -n default delete dflt >/dev/null

echo "--- unavailable, internal"
berth_kill_daemon TERM
err_line unavailable ctl list
err_line unavailable ctl state t1
# a shim that fails at once: berthd cannot start the task
berth_start_daemon --shim /bin/false
err_line internal ctl create --bundle "$b" t5
err_line not-found ctl state t5
berth_kill_daemon TERM
berth_leaks_check
echo "api-contract: ok"
