#!/usr/bin/env bash
# Two tasks with the same id in two namespaces (each with its own shim, the
# same runc root dir layout, as berthd runs them) must not share anything:
# not their cgroup, not `pids`, not `kill --all`. Bundles exactly as
# tools/mkbundle writes them (no cgroupsPath): what the shim does with them
# decides where the containers go.
set -euo pipefail
export SHIM_RAW_BUNDLE=1
source "$(dirname "$0")/shim_lib.sh"
shim_test_init shim-isolation

# memory cgroup of PID (cgroup v1), or its one cgroup (v2)
memcg() {
    local cg
    cg=$(sed -n 's/^[0-9]*:memory://p' "/proc/$1/cgroup")
    [[ -n $cg ]] || cg=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
    printf '%s\n' "$cg"
}

id=iso-${T##*.} # unique to this run: other tests cannot collide with it
b=$(mkbundle iso -- sleep 100)
SA=$(shim_start "$id" "$b")
SB=$(SHIM_NS=other shim_start "$id" "$b")
pa=$(drv "$SA" create "$id" "" "" "")
drv "$SA" start >/dev/null
pb=$(drv "$SB" create "$id" "" "" "")
drv "$SB" start >/dev/null

step "own cgroups"
ca=$(memcg "$pa") cb=$(memcg "$pb")
[[ -n $ca && $ca != "$cb" ]] || fail "default/$id and other/$id share the memory cgroup '$ca'"

step "pids: each shim lists its own processes only"
assert_eq "$pa:init" "$(drv "$SA" pids | xargs)" "pids of default/$id"
assert_eq "$pb:init" "$(drv "$SB" pids | xargs)" "pids of other/$id"

step "kill --all in one namespace spares the other"
drv "$SB" kill 9 "" all >/dev/null
assert_eq 137 "$(drv "$SB" wait)" "other/$id after kill --all"
sleep 0.3
assert_eq "running $pa 0" "$(drv "$SA" state)" "default/$id after other/$id's kill --all"

drv "$SA" kill 9 >/dev/null 2>&1 || true
drv "$SA" wait >/dev/null
for S in "$SA" "$SB"; do
    drv "$S" delete >/dev/null
    drv "$S" shutdown >/dev/null
done
berth_leaks_check
echo PASS
