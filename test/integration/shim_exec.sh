#!/usr/bin/env bash
# berth-shim exec processes: own exit codes, events (exec-added,
# exec-started, exit with the exec id) in order, duplicate ids, signals,
# delete of an exec, and no exec once the init has exited.
set -euo pipefail
source "$(dirname "$0")/shim_lib.sh"
shim_test_init shim-exec

b=$(mkbundle sleeper -- sleep 100)
shim_up t1 "$b"
ipid=$(drv "$S" create t1 "" "$T/init.out" "$T/init.err")
drv "$S" start >/dev/null

step "exec x1: exit 3"
drv_fails not-found "$S" state x1
drv "$S" exec x1 '{"args":["sh","-c","echo out-x1; echo err-x1 >&2; exit 3"]}' \
    "" "$T/x1.out" "$T/x1.err" >/dev/null
assert_eq "created 0 0" "$(drv "$S" state x1)" "x1 after exec"
drv_fails already-exists "$S" exec x1 '{"args":["true"]}'
p1=$(drv "$S" start x1)
[[ $p1 =~ ^[1-9][0-9]*$ && $p1 != "$ipid" ]] || fail "start x1 printed '$p1'"
assert_eq 3 "$(drv "$S" wait x1)" "wait x1"
assert_eq "stopped $p1 3" "$(drv "$S" state x1)" "x1 after its exit"
assert_eq "running $ipid 0" "$(drv "$S" state)" "the init still runs"
assert_eq out-x1 "$(cat "$T/x1.out")" "x1 stdout"
assert_eq err-x1 "$(cat "$T/x1.err")" "x1 stderr"
read -r xpid xst _ <"$T/state/default/t1/exit/exec-x1" || fail "no exit file for x1"
assert_eq "$p1 $((3 << 8))" "$xpid $xst" "exit file of x1"
drv_fails already-exists "$S" exec x1 '{"args":["true"]}'
drv_fails failed-precondition "$S" start x1
assert_eq "1 create
2 start
3 exec-added id=x1
4 exec-started id=x1
5 exit id=x1 status=3" "$(drv_events "$S" 0 5 2000)" "events of x1"

step "exec x2: SIGKILL; x3: SIGTERM (not a namespace init)"
drv "$S" exec x2 '{"args":["sleep","100"]}' "" "$T/x2.out" "$T/x2.err" >/dev/null
p2=$(drv "$S" start x2)
assert_eq "running $p2 0" "$(drv "$S" state x2)" "x2 runs"
drv_fails failed-precondition "$S" delete x2
drv "$S" kill 9 x2 >/dev/null
assert_eq 137 "$(drv "$S" wait x2)" "wait x2 after SIGKILL"
assert_eq "stopped $p2 137" "$(drv "$S" state x2)" "x2 after SIGKILL"
drv "$S" exec x3 '{"args":["sleep","100"]}' "" "$T/x3.out" "$T/x3.err" >/dev/null
p3=$(drv "$S" start x3)
assert_eq "running $p3 0" "$(drv "$S" state x3)" "x3 runs"
drv "$S" kill 15 x3 >/dev/null
assert_eq 143 "$(drv "$S" wait x3)" "wait x3 after SIGTERM"
assert_eq "6 exec-added id=x2
7 exec-started id=x2
8 exit id=x2 status=137
9 exec-added id=x3
10 exec-started id=x3
11 exit id=x3 status=143" "$(drv_events "$S" 5 6 2000)" "events of x2 and x3"

step "exec spec errors"
drv_fails invalid-argument "$S" exec bad1 'not json'
drv_fails invalid-argument "$S" exec bad2 '{"args":[]}'
drv_fails invalid-argument "$S" exec bad3 '["sh"]'
drv_fails invalid-argument "$S" exec t1 '{"args":["true"]}'  # the task's own id
drv_fails not-found "$S" state bad1

step "delete of the execs"
assert_eq 3 "$(drv "$S" delete x1)" "delete x1"
drv_fails not-found "$S" state x1
drv_fails not-found "$S" wait x1
assert_eq 137 "$(drv "$S" delete x2)" "delete x2"
drv_fails not-found "$S" state x2
drv_fails not-found "$S" delete x2
# an exec id can be used again once deleted
drv "$S" exec x1 '{"args":["sh","-c","exit 5"]}' "" "$T/x1b.out" "$T/x1b.err" >/dev/null
drv "$S" start x1 >/dev/null
assert_eq 5 "$(drv "$S" wait x1)" "the second x1"
assert_eq 5 "$(drv "$S" delete x1)" "delete the second x1"
# a deleted exec leaves no file in the task's state dir (its pid and exit
# files piled up, one pair per exec, for as long as the task lived)
left=$(cd "$T/state/default/t1" && find . -name '*x1*' -o -name '*x2*')
assert_eq "" "$left" "files of the deleted execs"
assert_eq "running $ipid 0" "$(drv "$S" state)" "the init still runs after the execs"

step "exec after the init exited"
drv "$S" exec late '{"args":["sleep","100"]}' "" "$T/late.out" "$T/late.err" >/dev/null
drv "$S" kill 9 >/dev/null
assert_eq 137 "$(drv "$S" wait)" "init after SIGKILL"
drv_fails failed-precondition "$S" exec x9 '{"args":["true"]}'
drv_fails failed-precondition "$S" start late
assert_eq "created 0 0" "$(drv "$S" state late)" "the unstarted exec"
assert_eq "12 exec-added id=x1
13 exec-started id=x1
14 exit id=x1 status=5
15 exec-added id=late
16 exit id=t1 status=137" "$(drv_events "$S" 11 5 2000)" "events after the execs"
assert_eq 143 "$(drv "$S" delete x3)" "delete x3 after the init exited"
assert_eq 137 "$(drv "$S" delete)" "delete the task"
assert_eq "17 delete status=137" "$(drv_events "$S" 16 1 2000)" "delete event"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

step "a running exec when the init dies: its exit comes first"
b=$(mkbundle sleeper2 -- sleep 100)
shim_up t2 "$b"
drv "$S" create t2 "" "$T/t2.out" "$T/t2.err" >/dev/null
drv "$S" start >/dev/null
drv "$S" exec x1 '{"args":["sleep","100"]}' "" "$T/t2x1.out" "$T/t2x1.err" >/dev/null
drv "$S" start x1 >/dev/null
drv "$S" kill 9 >/dev/null
assert_eq 137 "$(drv "$S" wait)" "init of t2"
assert_eq 137 "$(drv "$S" wait x1)" "exec of t2 dies with its pid namespace"
assert_eq "1 create
2 start
3 exec-added id=x1
4 exec-started id=x1
5 exit id=x1 status=137
6 exit id=t2 status=137" "$(drv_events "$S" 0 6 2000)" "t2 events: exec exit before init exit"
shim_down

step "an exec named init: its exit file is its own, not the init's"
shim_up t3 "$b"
ipid=$(drv "$S" create t3 "" "$T/t3.out" "$T/t3.err")
drv "$S" start >/dev/null
drv "$S" exec init '{"args":["sh","-c","exit 3"]}' "" "$T/t3x.out" "$T/t3x.err" >/dev/null
drv "$S" start init >/dev/null
assert_eq 3 "$(drv "$S" wait init)" "the exec named init"
[[ ! -e $T/state/default/t3/exit/init ]] ||
    fail "the exec named init wrote the init's exit file: $(<"$T/state/default/t3/exit/init")"
drv "$S" kill 9 >/dev/null
assert_eq 137 "$(drv "$S" wait)" "the init"
read -r xpid xst _ <"$T/state/default/t3/exit/init" || fail "no exit file for the init"
assert_eq "$ipid 9" "$xpid $xst" "the init's exit file"
drv "$S" delete init >/dev/null
shim_down

step "execs that fail at once: each start reports its own runc error"
shim_up t4 "$b"
drv "$S" create t4 "" "$T/t4.out" "$T/t4.err" >/dev/null
drv "$S" start >/dev/null
for i in 1 2 3 4 5 6; do
    drv "$S" exec "f$i" "{\"args\":[\"/no/such/bin$i\"]}" >/dev/null
done
pids=()
for i in 1 2 3 4 5 6; do
    timeout 15 "$SHIM_DRIVER" "$S" start "f$i" >/dev/null 2>"$T/f$i.err" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" && fail "a start of a missing binary succeeded" || true; done
for i in 1 2 3 4 5 6; do
    assert_contains "$(<"$T/f$i.err")" "/no/such/bin$i" "f$i's own error"
    drv "$S" delete "f$i" >/dev/null
done
# a terminal exec whose start failed fails the same way when started again
# (its console socket stayed and refused the retry as already-exists)
drv "$S" exec ft '{"args":["/no/such/bin"],"terminal":true}' "" "$T/ft.out" "" tty >/dev/null
for try in 1 2; do
    err=$(drv_err "$S" start ft)
    assert_contains "$err" "/no/such/bin" "start $try of a terminal exec of a missing binary ($err)"
done
drv "$S" delete ft >/dev/null
# wait_on_unstarted EID — add exec EID (never started) and a wait on it, in
# the background (its pid in $waiter)
wait_on_unstarted() {
    drv "$S" exec "$1" '{"args":["true"]}' >/dev/null
    timeout 15 "$SHIM_DRIVER" "$S" wait "$1" >/dev/null 2>"$T/$1.err" &
    waiter=$!
    sleep 0.5 # (the wait is in by then)
}
# waiter_not_found EID WHAT — that wait ended with not-found
waiter_not_found() {
    local st=0
    wait "$waiter" || st=$?
    ((st != 0)) || fail "the wait on $2 succeeded"
    [[ $(<"$T/$1.err") == "error: not-found: "* ]] || fail "the wait on $1: $(<"$T/$1.err")"
}
# a wait on an exec that is deleted before it ever ran: not-found (the
# waiter's promise used to be dropped: internal)
wait_on_unstarted nw
drv "$S" delete nw >/dev/null
waiter_not_found nw "a deleted, never started exec"
# the same when the task is deleted, not the exec: the waiter is answered
# (it used to hang until the shim went: unavailable)
wait_on_unstarted nw2
drv "$S" kill 9 >/dev/null
drv "$S" wait >/dev/null
drv "$S" delete >/dev/null
waiter_not_found nw2 "a never started exec of a deleted task"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

step "the init dies while runc exec runs (host pid namespace): the exec goes too, and exits first"
# runc, except that an exec is done 1 s after it made the process: the init
# is killed meanwhile
pid_file_runtime "$T/slow-exec-runc" exec '
        sleep 1'
bh=$(mkbundle hostpid -- sleep 100)
host_pidns "$bh"
S=$("$BERTH_SHIM" start --namespace "$SHIM_NS" --id t5 --bundle "$bh" --state-dir "$T/state" \
    --runtime "$T/slow-exec-runc" --cgroup-parent "$(berth_cgroup_parent)") || fail "berth-shim start t5 failed"
spid=$(shim_pid t5)
drv "$S" create t5 "" "$T/t5.out" "$T/t5.err" >/dev/null
drv "$S" start >/dev/null
drv "$S" exec x1 '{"args":["sleep","100"]}' "" "$T/t5x1.out" "$T/t5x1.err" >/dev/null
timeout 15 "$SHIM_DRIVER" "$S" start x1 >"$T/t5x1.start" 2>&1 &
xstart=$!
sleep 0.5 # runc made the exec and sleeps
drv "$S" kill 9 >/dev/null
wait "$xstart" || fail "the exec's start failed: $(<"$T/t5x1.start")"
xpid=$(<"$T/t5x1.start")
assert_eq 137 "$(drv "$S" wait x1)" "the exec, killed with the init"
assert_eq 137 "$(drv "$S" wait)" "the init"
assert_eq "1 create
2 start
3 exec-added id=x1
4 exec-started id=x1
5 exit id=x1 status=137
6 exit id=t5 status=137" "$(drv_events "$S" 0 6 2000)" "t5 events: the exec's exit before the init's"
pid_gone "$xpid" || fail "the exec process $xpid outlived its task"
drv "$S" delete x1 >/dev/null
shim_down

step "an exec runc made but never sent the pty of: the start fails, the process goes"
# runc, except that `exec` drops the console socket and runs the process
# without a terminal: no pty master ever comes. The start waited for it for
# ever (holding the init's exit), and a failed start left the process
# running, untracked.
real_runc=$(command -v "$BERTH_RUNC")
cat >"$T/runc-no-console" <<END
#!/bin/bash
[[ \$1 == exec || " \$* " == *" exec "* ]] || exec "$real_runc" "\$@"
args=()
while ((\$#)); do
    case \$1 in
        --console-socket) shift 2 ;;
        --process) jq '.terminal = false' "\$2" >"\$2.plain"; args+=(--process "\$2.plain"); shift 2 ;;
        *) args+=("\$1"); shift ;;
    esac
done
exec "$real_runc" "\${args[@]}"
END
chmod +x "$T/runc-no-console"
b=$(mkbundle noconsole -- sleep 100)
BERTH_RUNC=$T/runc-no-console shim_up t6 "$b"
drv "$S" create t6 "" "" "" >/dev/null
drv "$S" start >/dev/null
drv "$S" exec tn '{"args":["sleep","77"],"terminal":true}' "" "$T/tn.out" "" tty >/dev/null
err=$(DRV_TIMEOUT=30 drv_err "$S" start tn)
assert_contains "$err" "error: internal: runc sent no pty master" "the start of tn"
only_init() { [[ $(drv "$S" pids | wc -w) == 1 ]]; }
wait_for only_init
drv "$S" delete tn >/dev/null
drv "$S" kill 9 >/dev/null
drv "$S" wait >/dev/null
shim_down

berth_leaks_check
echo PASS
