#!/usr/bin/env bash
# An idle berth-shim uses no CPU: with a running `sleep 1000` task, its
# utime+stime (/proc/PID/stat fields 14 and 15) do not move over 5 s, neither
# alone nor with a subscriber connected and waiting for events.
set -euo pipefail
source "$(dirname "$0")/shim_lib.sh"
shim_test_init shim-idle

# cpu_ticks PID — utime + stime of PID, in clock ticks
cpu_ticks() {
    local s
    s=$(<"/proc/$1/stat") || fail "no process $1"
    s=${s##*) }
    read -ra f <<<"$s"
    echo $((f[11] + f[12])) # fields 14 and 15 (the array starts at field 3)
}

b=$(mkbundle sleeper -- sleep 1000)
shim_up t1 "$b"
ipid=$(drv "$S" create t1 "" "$T/t1.out" "$T/t1.err")
drv "$S" start >/dev/null
assert_eq "running $ipid 0" "$(drv "$S" state)" "the task runs"
sleep 0.5 # let the start-up settle (the shutdown timer, the first RPCs)

step "idle, no client: 5 s"
before=$(cpu_ticks "$spid")
sleep 5
after=$(cpu_ticks "$spid")
assert_eq "$before" "$after" "shim CPU ticks over 5 s idle (utime+stime)"

step "idle with a subscriber connected: 5 s"
"$SHIM_DRIVER" "$S" events 0 100 7000 >"$T/ev.out" 2>&1 &
sub=$!
wait_for grep -q '^2 start' "$T/ev.out"
sleep 0.3
before=$(cpu_ticks "$spid")
sleep 5
after=$(cpu_ticks "$spid")
assert_eq "$before" "$after" "shim CPU ticks over 5 s with a subscriber (utime+stime)"
kill "$sub" 2>/dev/null || true
wait "$sub" 2>/dev/null || true

drv "$S" kill 9 >/dev/null
assert_eq 137 "$(drv "$S" wait)" "init after SIGKILL"
shim_down

berth_leaks_check
echo PASS
