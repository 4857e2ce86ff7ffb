#!/usr/bin/env bash
# berth-shim reaps orphans: processes that fork children and exit leave no
# zombie behind the shim (it is the subreaper of every container process),
# and the orphans' exits are not mistaken for the task's.
set -euo pipefail
source "$(dirname "$0")/shim_lib.sh"
shim_test_init shim-orphans

ORPHANS='(sleep 0.2 &) ; (sleep 0.5 &) ; (sleep 0.6 &) ; exit 0'

# no_zombies SHIMPID WHAT — after the orphans' time is up, the shim has no
# zombie child.
no_zombies() {
    local z
    sleep 1
    z=$(zombies_of "$1")
    [[ -z $z ]] || fail "$2: zombie children of the shim $1: $z"
}

step "init forks orphans (host pid namespace: they reparent to the shim)"
b=$(mkbundle hostorph -- sh -c "$ORPHANS")
host_pidns "$b"
shim_up o1 "$b"
drv "$S" create o1 "" "$T/o1.out" "$T/o1.err" >/dev/null
drv "$S" start >/dev/null
assert_eq 0 "$(drv "$S" wait)" "o1 init exit"
# the orphans are the shim's children now (the test sees what it checks)
n=$(children_of "$spid" | wc -l)
((n >= 1)) || fail "o1: the orphans did not reparent to the shim"
no_zombies "$spid" o1
assert_eq "" "$(children_of "$spid")" "o1: the shim has no child left"
assert_eq 0 "$(drv "$S" delete)" "o1 delete"
assert_eq "1 create
2 start
3 exit id=o1 status=0
4 delete status=0" "$(drv_events "$S" 0 4 2000)" "o1 events"
assert_eq "" "$(drv_events "$S" 4 1 500)" "o1: no event for an orphan"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

step "init forks orphans (own pid namespace)"
b=$(mkbundle nsorph -- sh -c "$ORPHANS")
shim_up o2 "$b"
drv "$S" create o2 "" "$T/o2.out" "$T/o2.err" >/dev/null
drv "$S" start >/dev/null
assert_eq 0 "$(drv "$S" wait)" "o2 init exit"
no_zombies "$spid" o2
assert_eq "" "$(children_of "$spid")" "o2: the shim has no child left"
assert_eq 0 "$(drv "$S" delete)" "o2 delete"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

step "exec forks orphans (host pid namespace), several times"
b=$(mkbundle execorph -- sleep 100)
host_pidns "$b"
shim_up o3 "$b"
ipid=$(drv "$S" create o3 "" "$T/o3.out" "$T/o3.err")
drv "$S" start >/dev/null
for i in 1 2 3; do
    drv "$S" exec "x$i" "{\"args\":[\"sh\",\"-c\",\"$ORPHANS\"]}" "" "$T/x.out" "$T/x.err" >/dev/null
    drv "$S" start "x$i" >/dev/null
done
for i in 1 2 3; do
    assert_eq 0 "$(drv "$S" wait "x$i")" "x$i exit"
done
no_zombies "$spid" o3-execs
assert_eq "$ipid $spid" "$(children_of "$spid" | cut -d" " -f1,2)" "o3: only the init is left"
assert_eq "running $ipid 0" "$(drv "$S" state)" "o3 init still runs"
for i in 1 2 3; do
    drv "$S" delete "x$i" >/dev/null
done
drv "$S" kill 9 >/dev/null
assert_eq 137 "$(drv "$S" wait)" "o3 init after SIGKILL"
no_zombies "$spid" o3
assert_eq "" "$(children_of "$spid")" "o3: the shim has no child left"
shim_down

berth_leaks_check
echo PASS
