#!/usr/bin/env bash
# The shim starts a created container through runc's exec fifo and deletes a
# plain stopped one itself (docs/wire.md), and holds its mount namespace from
# create to delete: no `runc start` or `runc delete`
# process then, and runc agrees on the state (running after start; no state
# dir, no cgroup after delete). A spec with hooks goes through runc for both,
# so its poststop hook runs. A --runtime wrapper logs every runc command.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require jq
berth_test_init mgr-runc-shortcuts

cat >"$T/logged-runc" <<WRAP
#!/bin/sh
# the runc command (after the global options the shim passes) to a log
for a; do case \$a in create|start|delete|kill|state|ps|exec) echo "\$a" >>"$T/runc-calls"; break;; esac; done
exec "$BERTH_RUNC" "\$@"
WRAP
chmod +x "$T/logged-runc"
berth_start_daemon --runtime "$T/logged-runc"
RROOT=$T/state/runc/default

# cgroup_dirs ID — the task's cgroup directories that exist, any hierarchy
cgroup_dirs() {
    local d
    for d in /sys/fs/cgroup/*/"$(berth_cgroup_parent)/default/$1" /sys/fs/cgroup/"$(berth_cgroup_parent)/default/$1"; do
        [[ -d $d ]] && echo "$d"
    done
    return 0
}

echo "--- a plain task: started and deleted without runc start / runc delete"
b=$(mkbundle_sleeper plain)
: >"$T/runc-calls"
ctl run -d --bundle "$b" p1 >/dev/null
# start returns once the init has exec'd the user's process (not while runc's
# init could still hold pid 1 and drop a SIGTERM)
assert_eq sh "$(cat "/proc/$(json_get "$(ctl state p1)" pid)/comm")" "the init runs the user's process after start"
assert_eq running "$(status_of p1)" "berth: running after start"
[[ ! -e $RROOT/p1/exec.fifo ]] || fail "the exec fifo is still there after start"
assert_eq running "$(json_get "$("$BERTH_RUNC" --root "$RROOT" state p1)" status)" "runc: running after start"
[[ -n $(cgroup_dirs p1) ]] || fail "no cgroup for p1 while it runs"
pids=$(ctl pids p1)   # runc ps works on a container started this way
assert_contains "$pids" "$(json_get "$(ctl state p1)" pid)" "pids lists the init"
# the shim holds the container's mount and network namespaces (shim/ns_pins.h),
# also after the init's exit, so their teardown is not in the exit's path
read -r p1shim _ <"$T/state/default/p1/shim.pid"
p1ns=()
for kind in mnt net; do p1ns+=("$(readlink "/proc/$(json_get "$(ctl state p1)" pid)/ns/$kind")"); done
[[ ${p1ns[1]} != "$(readlink /proc/self/ns/net)" ]] || fail "p1 has no network namespace of its own"
held_by_shim() {
    local ns
    for ns in "${p1ns[@]}"; do
        ls -l "/proc/$p1shim/fd" | grep -qF "$ns" || { echo "$ns"; return 1; }
    done
}
missing=$(held_by_shim) || fail "the shim does not hold p1's namespace $missing"
term_ready p1
ctl kill p1
assert_eq 143 "$(json_get "$(ctl wait p1)" exit_status)" "exit status"
missing=$(held_by_shim) || fail "the shim let go of p1's namespace $missing before the delete"
ctl delete p1 >/dev/null
[[ ! -e $RROOT/p1 ]] || fail "runc's state dir of p1 is left: $(ls -A "$RROOT/p1")"
left=$(cgroup_dirs p1)
[[ -z $left ]] || fail "cgroups of p1 left behind: $left"
[[ -z $("$BERTH_RUNC" --root "$RROOT" list -q) ]] || fail "runc still lists a container"
calls=$(sort -u "$T/runc-calls" | tr '\n' ' ')
assert_contains "$calls" "create" "runc create ran"
assert_contains "$calls" "ps" "runc ps ran"
[[ $calls != *start* ]] || fail "runc start ran for a plain task (calls: $calls)"
[[ $calls != *delete* ]] || fail "runc delete ran for a plain task (calls: $calls)"

echo "--- a task runc no longer knows (runc delete --force behind berth's back): its delete still works"
b=$(mkbundle_sleeper gone)
ctl run -d --bundle "$b" g1 >/dev/null
"$BERTH_RUNC" --root "$RROOT" delete --force g1
assert_eq 137 "$(json_get "$(ctl wait g1)" exit_status)" "g1's exit status (killed by runc's delete)"
out=$(ctl delete g1) || fail "delete of a task runc had already deleted failed: $out"
assert_eq 137 "$(json_get "$out" exit_status)" "delete answers g1's exit"
expect_error not-found ctl state g1 >/dev/null
[[ -z $(cgroup_dirs g1) ]] || fail "cgroups of g1 left behind"
# a created task whose runc state was removed by hand: runc cannot kill its
# init any more, so the shim does (its cgroups are then the hand's to remove)
ctl create --bundle "$(mkbundle_sleeper gone2)" g2
g2init=$(json_get "$(ctl state g2)" pid)
rm -rf "${RROOT:?}/g2"
out=$(ctl delete g2) || fail "delete of a created task whose runc state is gone failed: $out"
for _ in $(seq 100); do [[ -d /proc/$g2init ]] || break; sleep 0.05; done
[[ ! -d /proc/$g2init ]] || fail "g2's init $g2init outlived its delete"
expect_error not-found ctl state g2 >/dev/null

echo "--- a task with hooks: runc start and runc delete, and the poststop hook runs"
b=$(mkbundle_sleeper hooked)
hook() { jq -n --arg f "$T/hooks" --arg w "$1" '{path: "/bin/sh", args: ["sh", "-c", "echo \($w) >>\($f)"]}'; }
jq --argjson s "$(hook poststart)" --argjson p "$(hook poststop)" \
    '.hooks = {poststart: [$s], poststop: [$p]}' "$b/config.json" >"$T/config.json"
mv "$T/config.json" "$b/config.json"
: >"$T/runc-calls"
ctl run -d --bundle "$b" h1 >/dev/null
assert_eq running "$(status_of h1)" "hooked task running"
term_ready h1
ctl kill h1
ctl wait h1 >/dev/null
ctl delete h1 >/dev/null
calls=$(sort -u "$T/runc-calls" | tr '\n' ' ')
assert_contains "$calls" "start" "runc start ran for a task with hooks"
assert_contains "$calls" "delete" "runc delete ran for a task with hooks"
assert_contains "$(cat "$T/hooks")" "poststart" "the poststart hook ran"
assert_contains "$(cat "$T/hooks")" "poststop" "the poststop hook ran"
[[ ! -e $RROOT/h1 && -z $(cgroup_dirs h1) ]] || fail "h1 left runc state or cgroups"

echo "--- a slow exec: start returns only once the init runs the user's process"
# A startContainer hook runs inside the container after the fifo's byte and
# before the exec (runc's init also closes its descriptors there): a start
# that answered at the byte would leave runc's Go init as pid 1, and a SIGTERM
# then kills it with status 2 instead of reaching the user's trap.
slow_exec() {
    local b=$1 extra=${2:-'{}'}
    jq --argjson x "$extra" '.hooks = ({startContainer: [{path: "/bin/sleep", args: ["sleep", "0.5"]}]} + $x)' \
        "$b/config.json" >"$T/config.json"
    mv "$T/config.json" "$b/config.json"
}
b=$(mkbundle_sleeper slow)
slow_exec "$b"
b2=$(mkbundle_sleeper slow-hooked)
slow_exec "$b2" "{\"poststart\": [$(hook poststart)]}"
for t in s1:"$b" s2:"$b2"; do  # s1 through the fifo, s2 through runc start
    id=${t%%:*}
    ctl run -d --bundle "${t#*:}" "$id" >/dev/null
    pid=$(json_get "$(ctl state "$id")" pid)
    assert_eq sh "$(cat "/proc/$pid/comm")" "$id's init runs the user's process when start returns"
    term_ready "$id"
    ctl kill "$id"
    assert_eq 143 "$(json_get "$(ctl wait "$id")" exit_status)" "$id's exit status"
    ctl delete "$id" >/dev/null
done

echo "--- a task whose init exits before start: start fails as runc's does, delete cleans up"
b=$(mkbundle quick -- true)
ctl create --bundle "$b" q1
init=$(json_get "$(ctl state q1)" pid)
kill -9 "$init"
expect_error failed-precondition ctl start q1 >/dev/null
ctl delete q1 >/dev/null || true
[[ ! -e $RROOT/q1 && -z $(cgroup_dirs q1) ]] || fail "q1 left runc state or cgroups"

echo "--- a runtime that keeps its state elsewhere: no exec fifo where runc's would be, so start goes through it"
# The wrapper moves runc's --root aside: the shim finds no ROOT/ID/exec.fifo
# (nor a state.json for its own delete) and falls back to the runtime's
# start and delete, which still work.
cat >"$T/elsewhere-runc" <<WRAP
#!/usr/bin/env bash
args=() prev=
for a; do [[ \$prev == --root ]] && a=\$a-elsewhere; args+=("\$a"); prev=\$a; done
for a; do case \$a in create|start|delete|kill|state|ps|exec) echo "\$a" >>"$T/runc-calls"; break;; esac; done
exec "$BERTH_RUNC" "\${args[@]}"
WRAP
chmod +x "$T/elsewhere-runc"
berth_kill_daemon TERM
berth_start_daemon --runtime "$T/elsewhere-runc"
b=$(mkbundle_sleeper elsewhere)
: >"$T/runc-calls"
ctl run -d --bundle "$b" e1 >/dev/null
[[ -p $RROOT-elsewhere/e1/exec.fifo || -d $RROOT-elsewhere/e1 ]] || fail "runc's state for e1 is not where the wrapper puts it"
[[ ! -e $RROOT/e1 ]] || fail "e1 has runc state where the shim looks"
assert_eq sh "$(cat "/proc/$(json_get "$(ctl state e1)" pid)/comm")" "e1's init runs the user's process when start returns"
assert_eq running "$(json_get "$("$BERTH_RUNC" --root "$RROOT-elsewhere" state e1)" status)" "runc: e1 running"
term_ready e1
ctl kill e1
assert_eq 143 "$(json_get "$(ctl wait e1)" exit_status)" "e1's exit status"
ctl delete e1 >/dev/null
calls=$(sort -u "$T/runc-calls" | tr '\n' ' ')
assert_contains "$calls" "start" "the runtime's start ran"
assert_contains "$calls" "delete" "the runtime's delete ran"
[[ ! -e $RROOT-elsewhere/e1 && -z $(cgroup_dirs e1) ]] || fail "e1 left runc state or cgroups"
# an init that died before start: a wrong state on this path too (the shim
# has reaped it, so it never asks the runtime)
ctl create --bundle "$(mkbundle quick2 -- true)" q2
kill -9 "$(json_get "$(ctl state q2)" pid)"
expect_error failed-precondition ctl start q2 >/dev/null
ctl delete q2 >/dev/null || true
[[ ! -e $RROOT-elsewhere/q2 && -z $(cgroup_dirs q2) ]] || fail "q2 left runc state or cgroups"

berth_leaks_check
echo "mgr-runc-shortcuts: ok"
