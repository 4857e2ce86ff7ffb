#!/usr/bin/env bash
# berth-shim OOM: a task over its memory limit is OOM-killed; the shim
# publishes `oom` and then the exit (SIGKILL, 137), in that order, once.
set -euo pipefail
source "$(dirname "$0")/shim_lib.sh"
shim_test_init shim-oom

[[ -d /sys/fs/cgroup/memory || -f /sys/fs/cgroup/memory.events || -f /sys/fs/cgroup/cgroup.controllers ]] ||
    { echo "SKIP: no memory cgroup"; exit 77; }

step "init over 32 MiB"
# The shell itself (the init) doubles a string until the limit kills it.
b=$(mkbundle hog --memory 33554432 -- sh -c 'x=a; while true; do x=$x$x; done')
S=$(shim_start m1 "$b")
spid=$(shim_pid m1)
drv "$S" create m1 "" "$T/m1.out" "$T/m1.err" >/dev/null
drv "$S" start >/dev/null
assert_eq 137 "$(drv "$S" wait)" "init killed by the OOM killer"
assert_eq 137 "$(drv "$S" delete)" "delete after OOM"
assert_eq "1 create
2 start
3 oom
4 exit id=m1 status=137
5 delete status=137" "$(drv_events "$S" 0 5 3000)" "events: oom before exit"
assert_eq "" "$(drv_events "$S" 5 1 300)" "nothing after delete"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

step "init OOM-killed while its start still runs (a poststart hook of 1 s): oom after start"
b=$(mkbundle hog3 --memory 33554432 -- sh -c 'x=a; while true; do x=$x$x; done')
sed -i '0,/{/s//{ "hooks": { "poststart": [ { "path": "\/bin\/sleep", "args": [ "sleep", "1" ] } ] },/' "$b/config.json"
grep -q poststart "$b/config.json" || fail "no poststart hook in $b/config.json"
S=$(shim_start m3 "$b")
spid=$(shim_pid m3)
drv "$S" create m3 "" "$T/m3.out" "$T/m3.err" >/dev/null
drv "$S" start >/dev/null
assert_eq 137 "$(drv "$S" wait)" "init killed by the OOM killer"
assert_eq 137 "$(drv "$S" delete)" "delete after OOM"
assert_eq "1 create
2 start
3 oom
4 exit id=m3 status=137
5 delete status=137" "$(drv_events "$S" 0 5 3000)" "events: start, oom, exit"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

step "exec over 32 MiB (the init stays)"
b=$(mkbundle hog2 --memory 33554432 -- sleep 100)
S=$(shim_start m2 "$b")
spid=$(shim_pid m2)
ipid=$(drv "$S" create m2 "" "$T/m2.out" "$T/m2.err")
drv "$S" start >/dev/null
drv "$S" exec x1 '{"args":["sh","-c","x=a; while true; do x=$x$x; done"]}' "" "$T/x1.out" "$T/x1.err" >/dev/null
drv "$S" start x1 >/dev/null
assert_eq 137 "$(drv "$S" wait x1)" "exec killed by the OOM killer"
assert_eq "running $ipid 0" "$(drv "$S" state)" "the init survives the exec's OOM"
assert_eq "1 create
2 start
3 exec-added id=x1
4 exec-started id=x1
5 oom
6 exit id=x1 status=137" "$(drv_events "$S" 0 6 3000)" "events: oom before the exec's exit"
drv "$S" kill 9 >/dev/null
assert_eq 137 "$(drv "$S" wait)" "init after SIGKILL"
assert_eq "7 exit id=m2 status=137" "$(drv_events "$S" 6 1 2000)" "no second oom for a plain SIGKILL"
drv "$S" delete >/dev/null
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

berth_leaks_check
echo PASS
