#!/usr/bin/env bash
# berth-shim outlives its starter and its clients: started from a process
# that is SIGKILLed right after, it is a daemon (own session, not the
# starter's child) that still answers, and its task runs on; a client killed
# in the middle of a call does not hurt it. Events: replay after a given seq,
# exactly the events after it, and live streaming to a subscriber.
set -euo pipefail
source "$(dirname "$0")/shim_lib.sh"
shim_test_init shim-survives

# field N of /proc/PID/stat (after the command name)
stat_field() {
    local s
    s=$(<"/proc/$1/stat")
    s=${s##*) }
    read -ra f <<<"$s"
    printf '%s\n' "${f[$2 - 3]}"
}

step "start the shim from a process that is SIGKILLed"
b=$(mkbundle sleeper -- sleep 100)
(bash -c '"$1" start --namespace default --id t1 --bundle "$2" --state-dir "$3" >"$4"
          echo $$ >"$5"; kill -9 $$' _ "$BERTH_SHIM" "$b" "$T/state" "$T/sock" "$T/starter.pid") 2>/dev/null &&
    fail "the starter was not killed"
S=$(<"$T/sock")
assert_eq "$T/state/default/t1/shim.sock" "$S" "socket path printed by the starter"
starter=$(<"$T/starter.pid")
kill -0 "$starter" 2>/dev/null && fail "the starter $starter still runs"
spid=$(shim_pid t1)
kill -0 "$spid" 2>/dev/null || fail "the shim $spid died with its starter"
ppid=$(stat_field "$spid" 4)
[[ $ppid != "$starter" && $ppid != "$$" ]] || fail "the shim's parent is $ppid (starter $starter, test $$)"
assert_eq "$spid" "$(stat_field "$spid" 6)" "the shim leads its own session"
read -r cpid ctask _ cseq <<<"$(drv "$S" connect)"
assert_eq "$spid 0 0" "$cpid $ctask $cseq" "connect before create: shim pid, no task, no events"
# `start` again: the shim already answers there, same path, no second shim
assert_eq "$S" "$(shim_start t1 "$b")" "a second start prints the same socket"
assert_eq "$spid" "$(shim_pid t1)" "a second start keeps the shim"

step "a task runs on; a client killed mid-call does no harm"
ipid=$(drv "$S" create t1 "" "$T/t1.out" "$T/t1.err")
drv "$S" start >/dev/null
"$SHIM_DRIVER" "$S" wait >"$T/wait.out" 2>&1 &
w=$!
sleep 0.3
kill -9 "$w"
wait "$w" 2>/dev/null || true
"$SHIM_DRIVER" "$S" events 0 100 100000 >"$T/ev.out" 2>&1 &
w=$!
sleep 0.3
kill -9 "$w"
wait "$w" 2>/dev/null || true
assert_eq "running $ipid 0" "$(drv "$S" state)" "the task after killed clients"
read -r cpid ctask _ _ <<<"$(drv "$S" connect)"
assert_eq "$spid $ipid" "$cpid $ctask" "connect: shim and task pids"

step "events: replay after a seq"
# events 1..2 (create, start) may have gone to the killed subscriber; make
# more: x1 (3 4 5), x2 (6 7 8)
for x in x1 x2; do
    drv "$S" exec "$x" '{"args":["sh","-c","exit 4"]}' "" "$T/$x.out" "$T/$x.err" >/dev/null
    drv "$S" start "$x" >/dev/null
    assert_eq 4 "$(drv "$S" wait "$x")" "$x exit"
done
read -r _ _ _ cseq <<<"$(drv "$S" connect)"
assert_eq 8 "$cseq" "connect: last seq"
all="3 exec-added id=x1
4 exec-started id=x1
5 exit id=x1 status=4
6 exec-added id=x2
7 exec-started id=x2
8 exit id=x2 status=4"
# first subscriber: after 2, at least 2 events (it may take one more)
first=$(drv_events "$S" 2 2 2000)
n=$(wc -l <<<"$first")
((n >= 2)) || fail "first subscriber got $n events: $first"
assert_eq "$(head -n "$n" <<<"$all")" "$first" "first subscriber: 3, 4, ..."
K=$((2 + n))
# second subscriber: after K, exactly K+1..8
assert_eq "$(tail -n +"$((n + 1))" <<<"$all")" "$(drv_events "$S" "$K" $((8 - K)) 2000)" "replay after $K"
assert_eq "" "$(drv_events "$S" 8 1 300)" "nothing after 8"

step "events: live streaming to a subscriber"
drv_events "$S" 8 3 8000 >"$T/live.out" &
live=$!
sleep 0.3
drv "$S" exec x3 '{"args":["sh","-c","exit 6"]}' "" "$T/x3.out" "$T/x3.err" >/dev/null
drv "$S" start x3 >/dev/null
assert_eq 6 "$(drv "$S" wait x3)" "x3 exit"
wait "$live" || fail "live subscriber failed"
assert_eq "9 exec-added id=x3
10 exec-started id=x3
11 exit id=x3 status=6" "$(cat "$T/live.out")" "live events"

step "the shim ends after delete and shutdown, not before"
drv "$S" kill 9 >/dev/null
assert_eq 137 "$(drv "$S" wait)" "init after SIGKILL"
drv "$S" delete >/dev/null
assert_eq "12 exit id=t1 status=137
13 delete status=137" "$(drv_events "$S" 11 2 2000)" "exit and delete"
kill -0 "$spid" 2>/dev/null || fail "the shim exited before shutdown"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

step "start --no-fork (how berthd starts shims): the process itself serves"
mkfifo "$T/nofork.out"
"$BERTH_SHIM" start --no-fork --namespace default --id t2 --bundle "$b" --state-dir "$T/state" \
    >"$T/nofork.out" 2>>"$T/nofork.err" &
nf=$!
read -r -t 10 S2 <"$T/nofork.out" || fail "start --no-fork printed no address"
assert_eq "$T/state/default/t2/shim.sock" "$S2" "address printed by the serving process"
assert_eq "$nf" "$(shim_pid t2)" "the started process is the shim (no daemonizing fork)"
kill -0 "$nf" 2>/dev/null || fail "start --no-fork exited after printing"
assert_eq "$nf" "$(stat_field "$nf" 6)" "it leads its own session"
read -r cpid2 _ <<<"$(drv "$S2" connect)"
assert_eq "$nf" "$cpid2" "it answers on its socket"
drv "$S2" shutdown >/dev/null
wait "$nf" || fail "start --no-fork: the shim exited $? after shutdown"

berth_leaks_check
echo PASS
