#!/usr/bin/env bash
# berthd lifecycle through berthctl: create, start, state running, kill, wait
# 143, delete, state not-found; then the events of it in order.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require
berth_test_init mgr-lifecycle
berth_start_daemon

b=$(mkbundle_sleeper)
"$BERTHCTL" --address "$T/berthd.sock" events >"$T/events.out" 2>"$T/events.err" &
events_pid=$! # (berthctl's own: `ctl … &` would give a subshell's)
sleep 0.2

ctl create --bundle "$b" t1
assert_eq created "$(status_of t1)" "after create"
pid=$(json_get "$(ctl state t1)" pid)
[[ $pid =~ ^[0-9]+$ && $pid -gt 1 ]] || fail "created init has pid '$pid'"
ctl start t1
assert_eq running "$(status_of t1)" "after start"
kill -0 "$pid" || fail "init $pid is not running"
# the shim and berthd block SIGCHLD (a signalfd reads it); their children,
# and so the container's process, must not inherit that
assert_eq 0000000000000000 "$(awk '/^SigBlk:/ { print $2 }' "/proc/$pid/status")" "the init's blocked signals"
listed=$(ctl list --json)
assert_contains "$listed" '"id":"t1"' "list shows t1"
assert_contains "$listed" '"status":"running"' "list shows it running"

term_ready t1
ctl kill t1
w=$(ctl wait t1)
assert_eq 143 "$(json_get "$w" exit_status)" "wait after SIGTERM"
st=$(ctl state t1)
assert_eq stopped "$(json_get "$st" status)" "after exit"
assert_eq 143 "$(json_get "$st" exit_status)" "state's exit_status"
d=$(ctl delete t1)
assert_eq 143 "$(json_get "$d" exit_status)" "delete's exit_status"
expect_error not-found ctl state t1 >/dev/null
[[ ! -e $T/root/default/t1 ]] || fail "task record left behind"
[[ ! -e $T/state/default/t1 ]] || fail "state dir left behind"
assert_eq "" "$(runc_list default)" "runc still knows the container"

# events: create, start, exit, delete, with berthd's increasing seq
wait_for grep -q '/tasks/delete' "$T/events.out"
kill "$events_pid" 2>/dev/null || true
wait "$events_pid" 2>/dev/null || true
topics=$(grep -o '"topic":"[^"]*"' "$T/events.out" | cut -d'"' -f4 | tr '\n' ' ')
assert_eq "/tasks/create /tasks/start /tasks/exit /tasks/delete " "$topics" "event order"
prev=0
while read -r line; do
    s=$(json_get "$line" seq)
    ((s > prev)) || fail "seq $s after $prev"
    prev=$s
    assert_eq t1 "$(json_get "$line" event.container_id)" "container_id"
    assert_eq default "$(json_get "$line" namespace)" "namespace"
done <"$T/events.out"
exit_line=$(grep '/tasks/exit' "$T/events.out")
assert_eq 143 "$(json_get "$exit_line" event.exit_status)" "exit event status"
assert_eq "$pid" "$(json_get "$exit_line" event.pid)" "exit event pid"

# replay with --since: the retained events after the first one
since=$(json_get "$(head -1 "$T/events.out")" seq)
replayed=$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since "$since" || true)
assert_eq 3 "$(grep -c '"topic"' <<<"$replayed")" "replay after seq $since"

echo "--- delete of a created task: the exit it reports is the one published"
"$BERTHCTL" --address "$T/berthd.sock" events --topic /tasks/ >"$T/events2.out" &
events_pid=$!
ctl create --bundle "$b" t2
wait_for grep -q '/tasks/create' "$T/events2.out"
ctl wait t2 >"$T/wait2.out" 2>"$T/wait2.err" &
waiter=$!
d=$(ctl delete t2)
waited=0
wait "$waiter" || waited=$?
# the wait may reach berthd only after the delete (a loaded machine): not-found
((waited == 0)) || grep -q '^berthctl: not-found: ' "$T/wait2.err" ||
    fail "wait on a created task that was deleted: $(cat "$T/wait2.err")"
wait_for grep -q '/tasks/delete' "$T/events2.out"
kill "$events_pid" 2>/dev/null || true
wait "$events_pid" 2>/dev/null || true
exit_line=$(grep '/tasks/exit' "$T/events2.out")
delete_line=$(grep '/tasks/delete' "$T/events2.out")
assert_eq 137 "$(json_get "$d" exit_status)" "delete's exit_status (runc delete --force killed the init)"
for f in exit_status exited_at; do
    assert_eq "$(json_get "$exit_line" "event.$f")" "$(json_get "$d" "$f")" "delete's $f against /tasks/exit"
    assert_eq "$(json_get "$exit_line" "event.$f")" "$(json_get "$delete_line" "event.$f")" "/tasks/delete's $f"
    if ((waited == 0)); then
        assert_eq "$(json_get "$exit_line" "event.$f")" "$(json_get "$(cat "$T/wait2.out")" "$f")" "wait's $f"
    fi
done

echo "--- waits whose clients went leave nothing behind"
# Each `berthctl wait` killed by its timeout left a coroutine and a call to
# the shim in berthd, and a waiter in the shim, until the process exited:
# ~11 and ~6 KiB a wait. berthd now drops the call, and the shim its waiter.
ctl run -d --bundle "$b" w1
"$BERTHCTL" --address "$T/berthd.sock" wait w1 >"$T/w1.wait" 2>&1 & # one that stays, throughout
stayer=$!
for i in 1 2 3 4 5 6 7 8; do
    timeout -s KILL 0.3 "$BERTHCTL" --address "$T/berthd.sock" wait w1 >/dev/null 2>&1 || true
done
# (each that reached the shim in its 0.3 s; on a loaded machine not all may)
dropped() { (($(grep -c 'a wait for w1 was dropped by its caller' "$T/state/default/w1/log") >= $1)); }
wait_for dropped 1
ctl kill --signal KILL w1
assert_waited "$stayer" "$T/w1.wait" 137 "the wait that stayed, beside those dropped"
ctl delete w1 >/dev/null

echo "--- berthctl's own output and FIFOs"
# output that cannot be written is an error, not exit 0 with nothing
st=0
ctl list --json >/dev/full 2>"$T/full.err" || st=$?
assert_eq 1 "$st" "list --json >/dev/full ($(<"$T/full.err"))"
assert_contains "$(<"$T/full.err")" "berthctl: internal: writing to stdout" "its error"
# `events` with SIGPIPE ignored (as systemd starts services) ends at the
# first event its gone reader cannot take; it wrote on into the pipe for ever
# (--since 0: the journal's creates come at once, whenever the subscription
# is in; the first goes to head, the rest into the pipe's buffer.)
mkfifo "$T/ev.fifo"
(trap '' PIPE; exec "$BERTHCTL" --address "$T/berthd.sock" events --since 0 --topic /tasks/create \
    >"$T/ev.fifo" 2>"$T/ev.err") &
evpid=$!
timeout 10 head -1 <"$T/ev.fifo" >"$T/ev.head" || fail "head read no event"
assert_contains "$(<"$T/ev.head")" '"topic":"/tasks/create"' "the one event head read"
ctl create --bundle "$b" p1
ctl create --bundle "$b" p2
WAIT_FOR_TIMEOUT=5 wait_for pid_gone "$evpid"
st=0
wait "$evpid" || st=$?
assert_eq 1 "$st" "events after its reader went ($(<"$T/ev.err"))"
assert_contains "$(<"$T/ev.err")" "berthctl: internal: writing events to stdout" "its error"
for id in p1 p2; do ctl delete "$id" >/dev/null; done
# a relative TMPDIR: the FIFO paths reach the shim (working dir /) absolute
hb=$(mkbundle hello -- echo hello)
mkdir -p "$T/rel/tmp"
out=$(cd "$T/rel" && TMPDIR=tmp "$BERTHCTL" --address "$T/berthd.sock" run --rm --bundle "$hb" rel1 2>"$T/rel.err") ||
    fail "run --rm with TMPDIR=tmp: $(<"$T/rel.err")"
assert_eq hello "$out" "its output"
[[ -z $(ls -A "$T/rel/tmp") ]] || fail "it left $(ls -A "$T/rel/tmp")"

berth_kill_daemon TERM
assert_eq 0 "$BERTH_DAEMON_STATUS" "berthd exits 0 on SIGTERM"
berth_leaks_check
echo "mgr-lifecycle: ok"
