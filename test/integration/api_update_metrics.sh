#!/usr/bin/env bash
# metrics and update through berthctl: the metrics JSON has the contract's
# fields as numbers; update --resources sets the memory and pids limits,
# visible in metrics and in the cgroup files; an update of a stopped task is
# refused; memory usage grows when the task allocates 20 MB.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
source "$HERE/api_lib.sh"
api_init api-update
b=$(mkbundle_sleeper)
ctl run -d --bundle "$b" t1

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

echo "--- metrics fields"
m=$(ctl metrics t1)
echo "  $m"
assert_eq "memory cpu pids" "$(json_keys "$m" | tr ' ' '\n' | grep -xE 'memory|cpu|pids' | tr '\n' ' ' | sed 's/ $//')" "metrics sections"
for k in memory.usage memory.limit memory.max_usage memory.oom_kills \
    cpu.usage_ns cpu.user_ns cpu.system_ns pids.current pids.limit; do
    v=$(json_get "$m" "$k") || fail "metrics lack $k: $m"
    is_uint "$v" || fail "metrics $k is not a number: '$v'"
done
usage0=$(json_get "$m" memory.usage)
((usage0 > 0)) || fail "memory usage of a running task is 0"
(($(json_get "$m" memory.max_usage) >= usage0)) || fail "max_usage < usage: $m"
assert_eq 0 "$(json_get "$m" memory.oom_kills)" "oom_kills"
(($(json_get "$m" cpu.usage_ns) > 0)) || fail "cpu usage_ns is 0: $m"
cur=$(json_get "$m" pids.current)
((cur >= 2)) || fail "pids.current $cur: sh and sleep run"
pids=$(ctl pids t1)
assert_eq "$cur" "$(grep -o '"pid":' <<<"$pids" | wc -l)" "pids.current against berthctl pids ($pids)"

echo "--- update: memory and pids limits"
limit=$((96 * 1024 * 1024))
printf '{"memory":{"limit":%d},"pids":{"limit":64}}\n' "$limit" >"$T/res.json"
ctl update --resources "$T/res.json" t1
m=$(ctl metrics t1)
assert_eq "$limit" "$(json_get "$m" memory.limit)" "metrics memory.limit after update"
assert_eq 64 "$(json_get "$m" pids.limit)" "metrics pids.limit after update"
memcg=$(cgroup_dir memory t1)
memfile=$memcg/memory.limit_in_bytes
cgroup_v2 && memfile=$memcg/memory.max
assert_eq "$limit" "$(<"$memfile")" "$memfile"
assert_eq 64 "$(<"$(cgroup_dir pids t1)/pids.max")" "pids.max"
assert_eq running "$(status_of t1)" "still running after update"
# resources from a pipe, as a shell hands them over
ctl update --resources <(printf '{"pids":{"limit":65}}') t1
assert_eq 65 "$(<"$(cgroup_dir pids t1)/pids.max")" "pids.max set through a pipe"
ctl update --resources "$T/res.json" t1

echo "--- update: bad resources"
echo '{"memory":' >"$T/bad.json"
msg=$(expect_error invalid-argument ctl update --resources "$T/bad.json" t1)
echo "  $msg"
expect_error invalid-argument ctl update --resources "$T/none.json" t1 >/dev/null
echo '[1,2]' >"$T/array.json"
expect_error invalid-argument ctl update --resources "$T/array.json" t1 >/dev/null
expect_error not-found ctl update --resources "$T/res.json" ghost >/dev/null
# valid JSON that runc or the kernel refuses: still the caller's to fix
echo '{"memory":{"limit":"abc"}}' >"$T/typo.json"
msg=$(expect_error invalid-argument ctl update --resources "$T/typo.json" t1)
assert_contains "$msg" "limit" "runc's words name the field"
if ! cgroup_v2; then  # v1 refuses a limit below the usage (v2 would OOM-kill instead)
    echo '{"memory":{"limit":4096}}' >"$T/tiny.json"
    expect_error invalid-argument ctl update --resources "$T/tiny.json" t1 >/dev/null
fi
assert_eq "$limit" "$(<"$memfile")" "limit kept after refused updates"

echo "--- metrics follow an allocation of 20 MB"
m=$(ctl metrics t1)
usage0=$(json_get "$m" memory.usage)
cpu0=$(json_get "$m" cpu.usage_ns)
pids0=$(json_get "$m" pids.current)
ctl exec -d --exec-id alloc t1 -- sh -c 'x=$(head -c 20000000 /dev/zero | tr "\0" a); echo ${#x} >/allocated; sleep 3'
grown() {
    local u
    u=$(json_get "$(ctl metrics t1)" memory.usage)
    ((u > usage0 + 10 * 1024 * 1024))
}
wait_for grown
m=$(ctl metrics t1)
echo "  usage $usage0 -> $(json_get "$m" memory.usage)"
(($(json_get "$m" memory.max_usage) > usage0 + 10 * 1024 * 1024)) || fail "max_usage did not follow: $m"
(($(json_get "$m" cpu.usage_ns) > cpu0)) || fail "cpu usage_ns did not grow: $cpu0 -> $m"
(($(json_get "$m" pids.current) > pids0)) || fail "pids.current did not count the exec: $pids0 -> $m"
w=$(ctl wait --exec-id alloc t1)
assert_eq 0 "$(json_get "$w" exit_status)" "the allocating exec exits 0"
assert_eq 20000000 "$(<"$b/rootfs/allocated")" "the exec really held 20 MB"
ctl delete --exec-id alloc t1 >/dev/null

echo "--- update of a created task (its cgroup is there before the start)"
ctl create --bundle "$b" t2
printf '{"pids":{"limit":32}}\n' >"$T/res2.json"
ctl update --resources "$T/res2.json" t2
assert_eq 32 "$(<"$(cgroup_dir pids t2)/pids.max")" "pids.max of the created task"
assert_eq created "$(status_of t2)" "still created after update"
ctl delete t2 >/dev/null

echo "--- update and metrics of a stopped task"
ctl kill --signal KILL t1
ctl wait t1 >/dev/null
msg=$(expect_error failed-precondition ctl update --resources "$T/res.json" t1)
echo "  $msg"
st=0
err=$(ctl metrics t1 2>&1) || st=$?
echo "  metrics of a stopped task: exit $st: $err"
[[ $st == 0 || $err == "berthctl: failed-precondition: "* || $err == "berthctl: not-found: "* ]] ||
    fail "metrics of a stopped task: $err"
ctl delete t1 >/dev/null
[[ ! -d $memcg ]] || fail "memory cgroup $memcg left after delete"

echo "--- a stopped task whose cgroup is gone: no metrics, not zeros"
ctl run -d --bundle "$b" t4
memcg=$(cgroup_dir memory t4)
ctl kill --signal KILL t4
ctl wait t4 >/dev/null
rmdir "$memcg"
msg=$(expect_error failed-precondition ctl metrics t4)
assert_contains "$msg" "cannot be read" "metrics of a task whose cgroup is gone"
ctl delete t4 >/dev/null

echo "--- two updates at once: each applies its own resources"
# They used to share one file in the shim's state dir: runc read it after
# the second call had written it, and both applied the second's limits.
berth_kill_daemon TERM
berth_start_daemon --runtime "$(gated_runtime update)"
ctl run -d --bundle "$b" t5
printf '{"pids":{"limit":40}}' >"$T/p40.json"
printf '{"pids":{"limit":50}}' >"$T/p50.json"
ctl update --resources "$T/p40.json" t5 &
u40=$!
berth_bg "$u40"
wait_for gated_calls update 1
ctl update --resources "$T/p50.json" t5 &
u50=$!
berth_bg "$u50"
wait_for gated_calls update 2
touch "$T/open-update"
wait "$u40" || fail "the first update failed"
wait "$u50" || fail "the second update failed"
assert_eq '{"pids":{"limit":40}} {"pids":{"limit":50}}' "$(sort "$T/update-seen" | tr '\n' ' ' | sed 's/ $//')" \
    "what runc read for the two updates"
ctl kill --signal KILL t5
ctl wait t5 >/dev/null
ctl delete t5 >/dev/null
berth_kill_daemon TERM
berth_leaks_check
echo "api-update-metrics: ok"
