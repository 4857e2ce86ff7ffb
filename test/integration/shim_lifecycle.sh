#!/usr/bin/env bash
# berth-shim lifecycle: every status of the init (created → running → stopped
# → deleted), the refusals of the status machine, exit codes (exit, SIGTERM,
# SIGKILL), an init that exits right after start (wait and event order), and
# shutdown (refused before delete; afterwards the shim is gone).
set -euo pipefail
source "$(dirname "$0")/shim_lib.sh"
shim_test_init shim-lifecycle

# ------------------------------------------------- statuses, refusals, SIGTERM
step "statuses and refusals (sleep 100, SIGTERM)"
# The init of a pid namespace ignores SIGTERM when it has no handler (even
# from the host), so this bundle shares the host's pid namespace: SIGTERM
# really ends `sleep`.
b=$(mkbundle sleeper -- sleep 100)
host_pidns "$b"
shim_up t1 "$b"
drv_fails not-found "$S" state
drv_fails not-found "$S" start
drv_fails invalid-argument "$S" create other-id
pid=$(drv "$S" create t1 "" "$T/t1.out" "$T/t1.err")
[[ $pid =~ ^[1-9][0-9]*$ ]] || fail "create printed '$pid', not a pid"
kill -0 "$pid" 2>/dev/null || fail "init pid $pid is not alive after create"
assert_eq "created $pid 0" "$(drv "$S" state)" "state after create"
assert_eq "$pid" "$(tr -d '\n' <"$T/state/default/t1/init.pid")" "init.pid"
drv_fails already-exists "$S" create t1
assert_eq "$pid" "$(drv "$S" start)" "start returns the init pid"
assert_eq "running $pid 0" "$(drv "$S" state)" "state after start"
drv_fails failed-precondition "$S" start
drv_fails failed-precondition "$S" delete
drv_fails failed-precondition "$S" shutdown
assert_eq "running $pid 0" "$(drv "$S" state)" "state after the refusals"
drv "$S" kill 15 >/dev/null
assert_eq 143 "$(drv "$S" wait)" "wait after SIGTERM"
assert_eq "stopped $pid 143" "$(drv "$S" state)" "state after the exit"
# exit file: PID WAIT_STATUS EXITED_AT_NS (killed by signal 15: status 15)
read -r xpid xst xat <"$T/state/default/t1/exit/init" || fail "no exit file"
assert_eq "$pid 15" "$xpid $xst" "exit file pid and wait status"
[[ $xat =~ ^[1-9][0-9]{15,}$ ]] || fail "exit file time '$xat' is not in ns"
assert_eq 143 "$(drv "$S" wait)" "a second wait"
drv_fails failed-precondition "$S" start
drv_fails not-found "$S" kill 9
drv_fails failed-precondition "$S" shutdown
# the exit status, and the shim's newest seq: its delete event's (4, below)
assert_eq "143 4" "$(drv "$S" delete-seq)" "delete returns the exit status and the last seq"
assert_eq "deleted $pid 143" "$(drv "$S" state)" "state after delete"
drv_fails failed-precondition "$S" delete
expected="1 create
2 start
3 exit id=t1 status=143
4 delete status=143"
assert_eq "$expected" "$(drv_events "$S" 0 4 2000)" "events of t1"
# Acknowledged events are dropped; nothing comes after the delete.
assert_eq "" "$(drv_events "$S" 4 1 300)" "no fifth event for t1"
"$BERTH_RUNC" --root "$T/state/runc/default" state t1 >/dev/null 2>&1 &&
    fail "runc still knows t1 after delete"
kill -0 "$spid" 2>/dev/null || fail "the shim died before shutdown"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"
[[ ! -e $T/state/default/t1/shim.pid ]] || fail "shim.pid left after shutdown"
drv_err "$S" connect >/dev/null

# ---------------------------------------------------------------- exit 7
step "exit 7"
b=$(mkbundle seven -- sh -c 'exit 7')
shim_up t2 "$b"
pid=$(drv "$S" create t2 "" "$T/t2.out" "$T/t2.err")
drv "$S" start >/dev/null
assert_eq 7 "$(drv "$S" wait)" "wait for exit 7"
assert_eq "stopped $pid 7" "$(drv "$S" state)" "state after exit 7"
read -r xpid xst xat <"$T/state/default/t2/exit/init" || fail "no exit file"
assert_eq "$pid $((7 << 8))" "$xpid $xst" "exit file of exit 7"
assert_eq 7 "$(drv "$S" delete)" "delete after exit 7"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

# ------------------------------------------------------------- SIGKILL
step "SIGKILL (pid-namespace init)"
b=$(mkbundle killed -- sleep 100)
shim_up t3 "$b"
pid=$(drv "$S" create t3 "" "$T/t3.out" "$T/t3.err")
drv "$S" start >/dev/null
assert_eq "running $pid 0" "$(drv "$S" state)" "t3 runs"
drv "$S" kill 9 >/dev/null
assert_eq 137 "$(drv "$S" wait)" "wait after SIGKILL"
assert_eq "stopped $pid 137" "$(drv "$S" state)" "state after SIGKILL"
assert_eq 137 "$(drv "$S" delete)" "delete after SIGKILL"
assert_eq "1 create
2 start
3 exit id=t3 status=137
4 delete status=137" "$(drv_events "$S" 0 4 2000)" "events of t3"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

# ------------------------------------------ delete of a created task, no start
step "delete a created (never started) task"
b=$(mkbundle unstarted -- sleep 100)
shim_up t4 "$b"
pid=$(drv "$S" create t4 "" "$T/t4.out" "$T/t4.err")
drv_fails failed-precondition "$S" shutdown
drv "$S" delete >/dev/null
assert_eq deleted "$(drv "$S" state | cut -d' ' -f1)" "created → deleted"
"$BERTH_RUNC" --root "$T/state/runc/default" state t4 >/dev/null 2>&1 &&
    fail "runc still knows t4 after delete"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

# ------------------------------------------------- early exit right after start
step "early exit (true), several rounds"
b=$(mkbundle early -- true)
for i in 1 2 3 4 5; do
    id=e$i
    shim_up "$id" "$b"
    drv "$S" create "$id" "" "$T/$id.out" "$T/$id.err" >/dev/null
    drv "$S" start >/dev/null
    assert_eq 0 "$(drv "$S" wait)" "$id: wait for true"
    assert_eq stopped "$(drv "$S" state | cut -d' ' -f1)" "$id: stopped"
    assert_eq 0 "$(drv "$S" delete)" "$id: delete"
    assert_eq "1 create
2 start
3 exit id=$id status=0
4 delete status=0" "$(drv_events "$S" 0 4 2000)" "$id: events create, start, exit, delete"
    assert_eq "" "$(drv_events "$S" 4 1 300)" "$id: no fifth event"
    drv "$S" shutdown >/dev/null
    shim_wait_gone "$spid"
done

# ------------------------------------------------- a delete while the create runs
step "delete while the create runs: it waits for the create, then deletes"
# (berthd undoing a create it gave up waiting for) runc's create takes 2 s
bs=$(mkbundle slowcreate -- sleep 1000)
shim_up_runtime sc "$bs" "$(slow_runc create 2)"
"$SHIM_DRIVER" "$S" create sc "" "$T/sc.out" "$T/sc.err" >"$T/sc.create" 2>&1 &
create_pid=$!
sleep 0.5 # the create is in runc (the wrapper's sleep)
assert_eq 137 "$(drv "$S" delete)" "the delete kills the init the create made"
wait "$create_pid" || fail "the create failed: $(<"$T/sc.create")"
"$BERTH_RUNC" --root "$T/state/runc/$SHIM_NS" state sc >/dev/null 2>&1 &&
    fail "runc still has the container the create made"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

step "two starts at once (both waiting for the create): one starts it, the other is refused"
shim_up_runtime sc2 "$bs" "$T/slow-create-runc"
"$SHIM_DRIVER" "$S" create sc2 "" "$T/sc2.out" "$T/sc2.err" >"$T/sc2.create" 2>&1 &
create_pid=$!
sleep 0.5 # the create is in runc; both starts wait for it
for i in 1 2; do
    timeout 30 "$SHIM_DRIVER" "$S" start >"$T/sc2.start$i" 2>&1 &
    eval "start$i=\$!"
done
t0=$(($(_berth_now_us) / 1000))
wait "$create_pid" || fail "the create failed: $(<"$T/sc2.create")"
ok=0
for i in 1 2; do
    st=0
    eval "wait \$start$i" || st=$?
    if ((st == 0)); then ok=$((ok + 1)); else assert_contains "$(<"$T/sc2.start$i")" failed-precondition "the other start"; fi
done
assert_eq 1 "$ok" "starts that succeeded ($(cat "$T"/sc2.start*))"
(($(($(_berth_now_us) / 1000)) - t0 < 5000)) || fail "the refused start took $(($(($(_berth_now_us) / 1000)) - t0)) ms"
assert_eq running "$(drv "$S" state | cut -d' ' -f1)" "the init runs"
drv "$S" kill 9 >/dev/null
drv "$S" wait >/dev/null
shim_down

# ------------------------------------------ a shim that nobody ever connects to
step "unclaimed: a shim nobody connects to exits and removes its state dir"
# (what a berthd that died as it started the shim leaves, when its restart's
# recovery ran before the shim had written shim.pid)
start_unclaimed() { # ID SECONDS — a shim that gives up after SECONDS; prints its socket
    "$BERTH_SHIM" start --namespace "$SHIM_NS" --id "$1" --bundle "$b" --state-dir "$T/state" \
        --runtime "$BERTH_RUNC" --cgroup-parent "$(berth_cgroup_parent)" --unclaimed-exit "$2" ||
        fail "berth-shim start $1 failed"
}
S=$(start_unclaimed u1 1)
spid=$(shim_pid u1)
shim_wait_gone "$spid"
[[ ! -e $T/state/$SHIM_NS/u1 ]] || fail "unclaimed shim left $(ls -la "$T/state/$SHIM_NS/u1")"
step "claimed: one connection keeps it past that time"
S=$(start_unclaimed u2 3)
spid=$(shim_pid u2)
drv "$S" connect >/dev/null
sleep 3.5
kill -0 "$spid" 2>/dev/null || fail "a shim that was connected to exited"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"
step "unclaimed after a rollback: the successor's files stay"
# A rollback's `berth-shim delete` removed the orphan's state dir; the
# retried create's shim serves there now. The orphan removes nothing of it.
S=$(start_unclaimed u3 2)
opid=$(shim_pid u3)
rm -rf "$T/state/$SHIM_NS/u3"
shim_up u3 "$b"
[[ $spid != "$opid" ]] || fail "the successor is the orphan"
drv "$S" connect >/dev/null
shim_wait_gone "$opid"
for f in shim.sock shim.pid log; do
    [[ -e $T/state/$SHIM_NS/u3/$f ]] || fail "the orphan removed its successor's $f"
done
drv "$S" connect >/dev/null
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

step "two deletes of a created task at once: one runs runc, both get its answer, one /tasks/delete"
# (berthd sends a second after giving up on a first that outlived its
# deadline) Both ran runc delete and both sent /tasks/delete.
bd=$(mkbundle twodel -- sleep 100)
shim_up_runtime d1 "$bd" "$(slow_runc delete 1)"
drv "$S" create d1 >/dev/null
timeout 15 "$SHIM_DRIVER" "$S" delete >"$T/del1.out" 2>&1 &
del1=$!
wait_for test -e "$T/slow-delete-ran" # (the first is in runc delete)
timeout 15 "$SHIM_DRIVER" "$S" delete >"$T/del2.out" 2>&1 || fail "the second delete: $(<"$T/del2.out")"
wait "$del1" || fail "the first delete failed: $(<"$T/del1.out")"
assert_eq "$(<"$T/del1.out")" "$(<"$T/del2.out")" "the two deletes' answers"
events=$(drv_events "$S" 0 4 2000)
echo "$events" | sed 's/^/  /'
assert_eq 1 "$(grep -c ' delete ' <<<"$events")" "/tasks/delete events of d1"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

berth_leaks_check
echo PASS
