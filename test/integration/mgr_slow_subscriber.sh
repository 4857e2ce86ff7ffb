#!/usr/bin/env bash
# A subscriber that never reads (SIGSTOPped, or writing into a full pipe
# nobody reads) does not block another subscriber, nor berthd, nor a shim; once
# it falls --subscriber-queue events behind it is closed and dropped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require
berth_test_init mgr-slow-subscriber
berth_start_daemon --subscriber-queue 16
b=$(mkbundle_sleeper)

events_cmd() { "$BERTHCTL" --address "$T/berthd.sock" events "$@"; }
# stuck 1: stopped (its own pid: not a subshell around it)
"$BERTHCTL" --address "$T/berthd.sock" events >"$T/stopped.out" 2>"$T/stopped.err" &
stopped=$!
# stuck 2: its stdout is a pipe nobody reads (the reader sleeps)
mkfifo "$T/full"
sleep 1000 <"$T/full" &
reader=$!
"$BERTHCTL" --address "$T/berthd.sock" events >"$T/full" 2>"$T/full.err" &
full=$!
# the healthy one
"$BERTHCTL" --address "$T/berthd.sock" events >"$T/good.out" 2>"$T/good.err" &
good=$!
sleep 0.3
kill -STOP "$stopped"

# Big events fill the pipe (64 KiB) and the socket buffers behind it: create
# events carry the IO paths, here about 3.8 KB each.
long=$T/io
for i in $(seq 1 15); do long+=/$(printf 'd%.0s' $(seq 1 250)); done
mkdir -p "$long"
n=0
for i in $(seq 1 40); do
    ctl create --bundle "$b" --stdout "$long/out$i" --stderr "$long/err$i" "big$i"
    ctl delete "big$i" >/dev/null
    n=$((n + 2))
done
ctl create --bundle "$b" t1
ctl start t1
t0=$(now_ms)
for i in $(seq 1 20); do
    ctl pause t1
    ctl resume t1
done
echo "40 pause/resume took $(($(now_ms) - t0)) ms"
ctl kill --signal KILL t1
ctl wait t1 >/dev/null
ctl delete t1 >/dev/null
want=$((n + 2 + 40 + 2))

wait_for grep -q '"container_id":"t1".*/tasks/delete\|/tasks/delete.*"container_id":"t1"' "$T/good.out"
# every event berthd journaled, in seq order without a gap
assert_eq "$(wc -l <"$T/root/events.log")" "$(grep -c '"topic"' "$T/good.out")" "the healthy subscriber got every event"
((want <= $(wc -l <"$T/root/events.log"))) || fail "fewer events than expected"
prev=0
while read -r line; do
    s=$(json_get "$line" seq)
    assert_eq $((prev + 1)) "$s" "seq after $prev"
    prev=$s
done <"$T/good.out"
wait_for grep -q "subscriber too slow: dropped after 16 queued events" "$T/berthd.log"
WAIT_FOR_TIMEOUT=5 poll_for test "$(grep -c 'subscriber too slow' "$T/berthd.log")" -ge 2 ||
    fail "both stuck subscribers should be dropped: $(grep 'dropped' "$T/berthd.log")"

# the stopped one, woken, learns why it was dropped and ends
kill -CONT "$stopped"
WAIT_FOR_TIMEOUT=5 wait_for grep -q "too slow" "$T/stopped.err"
echo "stopped subscriber said: $(cat "$T/stopped.err")"

# berthd is still fine
ctl list >/dev/null
kill "$good" "$full" "$reader" "$stopped" 2>/dev/null || true
wait "$good" "$full" "$reader" "$stopped" 2>/dev/null || true

# A subscriber whose filter matches nothing never has an event to send, so
# no failed send tells berthd its client is gone: it goes with the client's
# connection (it stayed for good, a few KB and a fan-out check per event)
"$BERTHCTL" --address "$T/berthd.sock" events --topic /no/such/topic >/dev/null 2>&1 &
quiet=$!
wait_for grep -q 'prefix "/no/such/topic"' "$T/berthd.log"
quiet_id=$(grep -o 'subscriber [0-9]* prefix "/no/such/topic"' "$T/berthd.log" | awk '{ print $2 }')
kill -KILL "$quiet"
wait "$quiet" 2>/dev/null || true
WAIT_FOR_TIMEOUT=5 wait_for grep -q "subscriber $quiet_id dropped: its client went away" "$T/berthd.log"

# Out of fds, berthd's accept fails at once for as long as a connection
# waits in the backlog: it looped straight back (a CPU, and a log line a
# try). It now waits 100 ms between tries, and takes the connection once
# an fd is free. (The soft limit only: raising a hard one back needs
# CAP_SYS_RESOURCE.)
sleep 0.5 # (the connections just dropped are closed)
fds=$(find "/proc/$BERTH_DAEMON_PID/fd" -mindepth 1 | wc -l)
prlimit --pid "$BERTH_DAEMON_PID" --nofile="$fds":
lines_before=$(grep -c "accept on $T/berthd.sock" "$T/berthd.log" || true)
"$BERTHCTL" --address "$T/berthd.sock" events --topic /tasks/create >"$T/fd1.out" 2>&1 &
fd1=$!
sleep 1
lines=$(($(grep -c "accept on $T/berthd.sock" "$T/berthd.log" || true) - lines_before))
((lines >= 1 && lines <= 3)) || fail "$lines log lines of failed accepts in 1 s (a spin logs thousands)"
# the waiting connection is taken once an fd is free: its subscriber sees events
prlimit --pid "$BERTH_DAEMON_PID" --nofile=1024:
wait_for grep -q 'prefix "/tasks/create"' "$T/berthd.log"
ctl create --bundle "$b" late
wait_for grep -q '"container_id":"late"' "$T/fd1.out"
kill "$fd1"
wait "$fd1" 2>/dev/null || true
ctl delete late >/dev/null
berth_leaks_check
echo "mgr-slow-subscriber: ok"
