#!/usr/bin/env bash
# close-stdin: `cat` reading a FIFO we keep open gets its data, then EOF on
# close-stdin, exits 0, and its stdout file holds everything written.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
source "$HERE/api_lib.sh"
api_init api-close-stdin
b=$(mkbundle cat -- cat)
events_start

mkfifo "$T/in"
ctl create --stdin "$T/in" --stdout "$T/out" --stderr "$T/err" --bundle "$b" c1
# our writer stays open: cat can only see EOF through close-stdin
exec 7<>"$T/in"
ctl start c1
pid=$(json_get "$(ctl state c1)" pid)
echo "line one" >&7
wait_for grep -qx "line one" "$T/out"
sleep 0.3
assert_eq running "$(status_of c1)" "cat waits for more while stdin is open"

# a burst written just before close-stdin must still arrive
head -c 300000 /dev/urandom | base64 -w 100 >"$T/burst"
cat "$T/burst" >&7
echo "last line" >&7
ctl close-stdin c1
w=$(timeout 10 "$BERTHCTL" --address "$T/berthd.sock" wait c1) || fail "cat did not exit after close-stdin"
assert_eq 0 "$(json_get "$w" exit_status)" "cat's exit status"
exec 7>&-
{ echo "line one"; cat "$T/burst"; echo "last line"; } >"$T/expected"
cmp "$T/expected" "$T/out" || fail "cat's output differs from its input ($(wc -c <"$T/out") of $(wc -c <"$T/expected") bytes)"
[[ ! -s $T/err ]] || fail "cat wrote to stderr: $(<"$T/err")"
wait_for pid_gone "$pid"

echo "--- close-stdin again, of a stopped task, of an unknown one"
st=0
err=$(ctl close-stdin c1 2>&1) || st=$?
echo "  close-stdin of a stopped task: exit $st $err"
[[ $st == 0 || $err == "berthctl: failed-precondition: "* ]] || fail "close-stdin of a stopped task: $err"
expect_error not-found ctl close-stdin ghost >/dev/null
expect_error not-found ctl close-stdin --exec-id nosuch c1 >/dev/null
ctl delete c1 >/dev/null

echo "--- run without stdin: close-stdin is harmless"
ctl create --stdout "$T/out2" --bundle "$b" c2
ctl start c2
ctl close-stdin c2 || fail "close-stdin of a task without stdin"
w=$(timeout 10 "$BERTHCTL" --address "$T/berthd.sock" wait c2) || fail "cat on /dev/null did not exit"
assert_eq 0 "$(json_get "$w" exit_status)" "cat on /dev/null"
ctl delete c2 >/dev/null
wait_for has_event /tasks/delete c2

echo "--- a process that closes its stdin while more keeps coming"
# The shim's stdin copy then writes into a pipe with no reader: SIGPIPE's
# default killed the shim, and berthd, taking the task for lost, killed
# the container.
ctl run -d --bundle "$(mkbundle sleeper -- sleep 1000)" c3
for i in 1 2 3; do
    out=$(timeout 20 bash -c "yes | \"\$0\" --address \"\$1\" exec --exec-id x$i c3 -- sh -c 'exec 0<&-; sleep 0.3; echo done'" \
        "$BERTHCTL" "$T/berthd.sock") || fail "exec x$i, its stdin closed early: status $?"
    assert_eq done "$out" "exec x$i's output"
done
assert_eq running "$(status_of c3)" "c3 after the execs"
ctl kill --signal KILL c3
ctl wait c3 >/dev/null
ctl delete c3 >/dev/null
events_stop
assert_eq 0 "$(json_get "$(event_line /tasks/exit c1)" event.exit_status)" "c1's exit event"
berth_kill_daemon TERM
berth_leaks_check
echo "api-close-stdin: ok"
