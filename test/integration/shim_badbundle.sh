#!/usr/bin/env bash
# berth-shim with bundles runc cannot use: no config.json, broken JSON, no
# rootfs, a command that does not exist. `create` fails with
# "error: invalid-argument: ..." carrying runc's own words (the last error of
# its log), the task stays uncreated, and after `shutdown now` nothing is
# left: no runc container, no shim, no process.
set -euo pipefail
source "$(dirname "$0")/shim_lib.sh"
shim_test_init shim-badbundle

RUNC_ROOT=$T/state/runc/default

# runc_last_error ID — the msg of the last error line of the shim's runc log
runc_last_error() {
    local f=$T/state/default/$1/runc.log.json
    [[ -f $f ]] || fail "$1: no runc log at $f"
    grep '"level":"error"' "$f" | tail -n1 | sed -E 's/.*"msg":"(([^"\\]|\\.)*)".*/\1/; s/\\"/"/g; s/\\\\/\\/g'
}

# bad_create ID BUNDLE — start a shim, create must fail with invalid-argument;
# prints the error line.
bad_create() {
    local id=$1 bundle=$2 S err
    S=$(shim_start "$id" "$bundle")
    err=$(drv_err "$S" create "$id" "" "$T/$id.out" "$T/$id.err")
    [[ $err == "error: invalid-argument: "* ]] || fail "$id: expected 'error: invalid-argument: ...', got '$err'"
    drv_fails not-found "$S" state
    drv_fails not-found "$S" start
    printf '%s\n' "$err"
}

# gone ID — after `shutdown now`: no shim, no runc container, no socket user
gone() {
    local id=$1 S=$T/state/default/$1/shim.sock spid
    spid=$(shim_pid "$id")
    drv "$S" shutdown now >/dev/null
    shim_wait_gone "$spid"
    assert_eq "" "$("$BERTH_RUNC" --root "$RUNC_ROOT" list -q 2>/dev/null)" "$id: runc containers left"
    "$BERTH_RUNC" --root "$RUNC_ROOT" state "$id" >/dev/null 2>&1 && fail "$id: runc still knows it"
    drv_err "$S" connect >/dev/null
}

step "no config.json"
mkdir -p "$T/bundles/nocfg/rootfs"
err=$(bad_create nocfg "$T/bundles/nocfg")
assert_contains "$err" "config.json" "nocfg: the error names config.json"
gone nocfg

step "config.json a FIFO or a directory"
# (A FIFO blocked the shim's loop in its open; a directory answered
# internal, EISDIR.)
for kind in fifo dir; do
    mkdir -p "$T/bundles/cfg$kind/rootfs"
    if [[ $kind == fifo ]]; then mkfifo "$T/bundles/cfg$kind/config.json"; else mkdir "$T/bundles/cfg$kind/config.json"; fi
    err=$(DRV_TIMEOUT=10 bad_create "cfg$kind" "$T/bundles/cfg$kind")
    assert_contains "$err" "config.json is not a regular file" "cfg$kind's error"
    gone "cfg$kind"
done

step "broken JSON in config.json"
b=$(mkbundle broken -- true)
printf '{"ociVersion": "1.0.2", "process": {"args": ["true"' >"$b/config.json"
err=$(bad_create broken "$b")
msg=$(runc_last_error broken)
[[ -n $msg ]] || fail "broken: runc logged no error"
assert_contains "$err" "$msg" "broken: runc's words in the error"
assert_contains "$err" "unexpected EOF" "broken: the JSON error"
gone broken

step "rootfs missing"
b=$(mkbundle norootfs -- true)
rm -rf "$b/rootfs"
err=$(bad_create norootfs "$b")
msg=$(runc_last_error norootfs)
assert_contains "$err" "$msg" "norootfs: runc's words in the error"
assert_contains "$err" "$b/rootfs" "norootfs: the error names the rootfs"
assert_contains "$err" "no such file or directory" "norootfs: why"
gone norootfs

step "command not found in the rootfs"
b=$(mkbundle nocmd -- /bin/no-such-command)
err=$(bad_create nocmd "$b")
msg=$(runc_last_error nocmd)
assert_contains "$err" "$msg" "nocmd: runc's words in the error"
assert_contains "$err" "no-such-command" "nocmd: the error names the command"
gone nocmd

step "a failed create can be retried once the bundle is fixed"
b=$(mkbundle retry -- sh -c 'exit 9')
mv "$b/config.json" "$b/config.json.good"
printf '{' >"$b/config.json"
shim_up retry "$b"
drv_fails invalid-argument "$S" create retry "" "$T/retry.out" "$T/retry.err"
mv -f "$b/config.json.good" "$b/config.json"
drv "$S" create retry "" "$T/retry.out" "$T/retry.err" >/dev/null
drv "$S" start >/dev/null
assert_eq 9 "$(drv "$S" wait)" "the retried task runs"
assert_eq 9 "$(drv "$S" delete)" "delete the retried task"
assert_eq "1 create
2 start
3 exit id=retry status=9
4 delete status=9" "$(drv_events "$S" 0 4 2000)" "no event for the failed create"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

berth_leaks_check
echo PASS
