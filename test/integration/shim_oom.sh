#!/usr/bin/env bash
# berth-shim OOM: a task over its memory limit is OOM-killed; the shim
# publishes `oom` and then the exit (SIGKILL, 137), in that order, once.
set -euo pipefail
source "$(dirname "$0")/shim_lib.sh"
shim_test_init shim-oom

[[ -d /sys/fs/cgroup/memory || -f /sys/fs/cgroup/memory.events || -f /sys/fs/cgroup/cgroup.controllers ]] ||
    { echo "SKIP: no memory cgroup"; exit 77; }

# oom_killed_init ID BUNDLE — a shim for ID runs BUNDLE's init into the OOM
# killer: oom before the exit (137), after the start, then the delete; once.
oom_killed_init() {
    local id=$1 b=$2 S spid
    shim_up "$id" "$b"
    drv "$S" create "$id" "" "$T/$id.out" "$T/$id.err" >/dev/null
    drv "$S" start >/dev/null
    assert_eq 137 "$(drv "$S" wait)" "$id: init killed by the OOM killer"
    assert_eq 137 "$(drv "$S" delete)" "$id: delete after OOM"
    assert_eq "1 create
2 start
3 oom
4 exit id=$id status=137
5 delete status=137" "$(drv_events "$S" 0 5 3000)" "$id: events start, oom, exit, delete"
    assert_eq "" "$(drv_events "$S" 5 1 300)" "$id: nothing after delete"
    drv "$S" shutdown >/dev/null
    shim_wait_gone "$spid"
}
# The shell itself (the init) doubles a string until the limit kills it.
hog=(--memory 33554432 -- sh -c 'x=a; while true; do x=$x$x; done')

step "init over 32 MiB"
oom_killed_init m1 "$(mkbundle hog "${hog[@]}")"

step "init OOM-killed while its start still runs (a poststart hook of 1 s): oom after start"
b=$(mkbundle hog3 "${hog[@]}")
sed -i '0,/{/s//{ "hooks": { "poststart": [ { "path": "\/bin\/sleep", "args": [ "sleep", "1" ] } ] },/' "$b/config.json"
grep -q poststart "$b/config.json" || fail "no poststart hook in $b/config.json"
oom_killed_init m3 "$b"

step "exec over 32 MiB (the init stays)"
b=$(mkbundle hog2 --memory 33554432 -- sleep 100)
shim_up m2 "$b"
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
shim_down

berth_leaks_check
echo PASS
