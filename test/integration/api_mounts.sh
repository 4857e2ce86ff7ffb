#!/usr/bin/env bash
# rootfs mounts from CreateOpts: a read-only rbind of a busybox rootfs onto a
# bundle whose rootfs is an empty dir; an overlay whose upperdir gets what the
# container writes. Nothing stays mounted under $T after delete, after a create
# refused for a bad mount, after the shim is SIGKILLed (berthd cleans up), and
# after a shim died while berthd was down (the restarted berthd cleans up).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
source "$HERE/api_lib.sh"
api_init api-mounts

# the busybox rootfs the mounts bring in
src=$(mkbundle src -- true)
lower=$src/rootfs
# emptybundle NAME CMD... — a bundle with an empty rootfs dir running CMD
emptybundle() {
    local name=$1 dir
    shift
    dir=$(mkbundle "$name" -- "$@")
    rm -rf "$dir/rootfs"
    mkdir "$dir/rootfs"
    printf '%s\n' "$dir"
}
no_mounts() {
    local m
    m=$(mounts_under "$T")
    [[ -z $m ]] || fail "$1: still mounted: $m"
}
no_mounts_now() { [[ -z $(mounts_under "$T") ]]; }

echo "--- bind, rbind:ro"
bb=$(emptybundle bind sh -c 'ls /bin/busybox; if touch /written 2>/dev/null; then echo rw; else echo ro; fi')
ctl create --stdout "$T/bind.out" --bundle "$bb" \
    --mount "type=bind,source=$lower,options=rbind:ro" b1
m=$(mounts_under "$T")
assert_eq "$bb/rootfs" "$m" "the bind is mounted at BUNDLE/rootfs after create"
grep -F " $bb/rootfs " /proc/self/mountinfo | grep -qE ' ro[, ]' || fail "the bind is not read-only"
# /tasks/create names the mounts (containerd's TaskCreate.rootfs)
ev=$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since 0 --topic /tasks/create || true)
ev=$(grep -F '"container_id":"b1"' <<<"$ev")
for part in '"rootfs":[{' '"type":"bind"' "\"source\":\"$lower\"" '"options":["rbind","ro"]'; do
    assert_contains "$ev" "$part" "b1's create event"
done
ctl start b1
w=$(ctl wait b1)
assert_eq 0 "$(json_get "$w" exit_status)" "the container ran busybox from the bind ($(<"$T/bind.out"))"
assert_eq $'/bin/busybox\nro' "$(<"$T/bind.out")" "its output"
[[ ! -e $lower/written ]] || fail "a write went through the ro bind"
ctl delete b1 >/dev/null
no_mounts "after delete of b1"
[[ -z $(ls -A "$bb/rootfs") ]] || fail "the bundle's rootfs dir is not empty after delete"

echo "--- overlay: the container's writes land in upperdir"
mkdir -p "$T/ov/upper" "$T/ov/work" "$T/ov/lower2"
echo "from the second layer" >"$T/ov/lower2/layer2.txt"
ob=$(emptybundle overlay sh -c 'echo written-in-container >/hello.txt; cat /layer2.txt; rm /bin/true; ls /bin/busybox')
ctl create --stdout "$T/ov.out" --bundle "$ob" \
    --mount "type=overlay,source=overlay,options=lowerdir=$T/ov/lower2:$lower:upperdir=$T/ov/upper:workdir=$T/ov/work" o1
m=$(mounts_under "$T")
assert_eq "$ob/rootfs" "$m" "the overlay is mounted at BUNDLE/rootfs after create"
ctl start o1
assert_eq 0 "$(json_get "$(ctl wait o1)" exit_status)" "the container on the overlay ($(<"$T/ov.out"))"
assert_eq $'from the second layer\n/bin/busybox' "$(<"$T/ov.out")" "its output"
assert_eq written-in-container "$(cat "$T/ov/upper/hello.txt" 2>&1)" "the write landed in upperdir"
[[ -e $lower/bin/true ]] || fail "a delete went through to the lower layer"
[[ -c $T/ov/upper/bin/true ]] || fail "no whiteout for /bin/true in upperdir"
[[ ! -e $lower/hello.txt ]] || fail "the write went to the lower layer"
ctl delete o1 >/dev/null
no_mounts "after delete of o1"

echo "--- a mount that fails: invalid-argument, nothing left mounted"
nb=$(emptybundle bad true)
msg=$(expect_error invalid-argument ctl create --bundle "$nb" --mount "type=nosuchfs,source=none" x1)
echo "  $msg"
expect_error not-found ctl state x1 >/dev/null
no_mounts "after a create with a bad mount type"
# the first mount works, the second fails: the first is undone
msg=$(expect_error invalid-argument ctl create --bundle "$nb" \
    --mount "type=bind,source=$lower,options=rbind:ro" \
    --mount "type=bind,source=$T/no/such/dir,target=bin,options=rbind" x2)
echo "  $msg"
expect_error not-found ctl state x2 >/dev/null
no_mounts "after a create whose second mount failed"
msg=$(expect_error invalid-argument ctl create --bundle "$nb" \
    --mount "type=overlay,source=overlay,options=lowerdir=$T/no/such/lower:upperdir=$T/ov/upper:workdir=$T/ov/work" x3)
echo "  $msg"
no_mounts "after a create with a bad overlay"
expect_error invalid-argument ctl create --bundle "$nb" --mount "source=$lower" x4 >/dev/null
expect_error invalid-argument ctl create --bundle "$nb" --mount "type=bind,bogus" x4 >/dev/null
expect_error invalid-argument ctl create --bundle "$nb" --mount "type=bind,color=red" x4 >/dev/null
assert_eq "" "$(ctl list --json | tr -d '[]')" "no task left by the refused creates"

echo "--- the shim is SIGKILLed: berthd cleans up"
kb=$(emptybundle killed sh -c 'trap "exit 143" TERM; sleep 1000 & wait')
ctl run -d --bundle "$kb" --mount "type=bind,source=$lower,options=rbind:ro" k1 2>/dev/null ||
    { ctl create --bundle "$kb" --mount "type=bind,source=$lower,options=rbind:ro" k1; ctl start k1; }
assert_eq "$kb/rootfs" "$(mounts_under "$T")" "k1's bind is mounted"
kpid=$(json_get "$(ctl state k1)" pid)
read -r shim _ <"$T/state/$BERTH_NAMESPACE/k1/shim.pid"
[[ $(_berth_cmdline "$shim") == *berth-shim* ]] || fail "pid $shim is not k1's shim"
kill -s KILL "$shim"
is_stopped() { [[ $(status_of "$1") == stopped ]]; }
wait_for is_stopped k1
echo "  k1 after its shim died: $(ctl state k1)"
wait_for no_mounts_now
wait_for pid_gone "$kpid"
ctl delete k1 >/dev/null
no_mounts "after the shim of k1 was killed"

echo "--- the shim dies while berthd is down: the restarted berthd cleans up"
ctl create --bundle "$kb" --mount "type=bind,source=$lower,options=rbind:ro" k2
ctl start k2
kpid=$(json_get "$(ctl state k2)" pid)
assert_eq "$kb/rootfs" "$(mounts_under "$T")" "k2's bind is mounted"
read -r shim _ <"$T/state/$BERTH_NAMESPACE/k2/shim.pid"
berth_kill_daemon KILL
kill -s KILL "$shim"
berth_start_daemon
wait_for is_stopped k2
echo "  k2 after the restart: $(ctl state k2)"
wait_for no_mounts_now
wait_for pid_gone "$kpid"
ctl delete k2 >/dev/null
no_mounts "after the restarted berthd cleaned k2"

echo "--- a second mount with target=: inside the rootfs, or refused"
mkdir -p "$lower/data" "$T/data"
echo "data-file" >"$T/data/file"
tb=$(emptybundle sub sh -c 'cat /data/file; ls /bin/busybox')
st=0
err=$(ctl create --stdout "$T/target.out" --bundle "$tb" \
    --mount "type=bind,source=$lower,options=rbind:ro" \
    --mount "type=bind,source=$T/data,target=data,options=rbind:ro" d1 2>&1) || st=$?
if ((st == 0)); then
    ctl start d1 || true
    w=$(ctl wait d1)
    assert_eq $'data-file\n/bin/busybox' "$(<"$T/target.out")" \
        "target=data mounts at ROOTFS/data (exit $(json_get "$w" exit_status))"
    ctl delete d1 >/dev/null
else
    no_mounts "after the refused create with target=data"
    expect_error not-found ctl state d1 >/dev/null
    # refused for the target itself, not stacked on the rootfs (runc then fails)
    [[ $err == "berthctl: invalid-argument: "*target* && $err != *"runc create"* ]] ||
        fail "create with target=data: exit $st: $err"
    echo "  refused: $err"
fi
no_mounts "after the target= case"

berth_kill_daemon TERM
berth_leaks_check
echo "api-mounts: ok"
