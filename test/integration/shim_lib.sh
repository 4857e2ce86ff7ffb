# shellcheck shell=bash
# Helpers for the berth-shim integration tests (test/integration/shim_*.sh):
# one shim started by hand, driven RPC by RPC with test/shim/shim_driver.
#
#   source "$(dirname "$0")/shim_lib.sh"
#   shim_test_init shim-foo               # berth_test_init + skips (root, runc, busybox)
#   b=$(mkbundle b1 -- sleep 100)
#   SOCK=$(shim_start t1 "$b")
#   drv "$SOCK" create t1 "" "$T/out" "$T/err"
#   drv_fails failed-precondition "$SOCK" start   # ... and more
#   ...
#   drv "$SOCK" delete; drv "$SOCK" shutdown; shim_wait_gone "$pid"
#   berth_leaks_check
#
# DRV_TIMEOUT (seconds, default 15) bounds every driver call, so a wedged
# shim fails the test instead of hanging it.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SHIM_DRIVER=$BUILD/test/shim/shim_driver
SHIM_NS=${SHIM_NS:-default}

# shim_test_init NAME — berth_test_init, after checking what the tests need.
shim_test_init() {
    if ((EUID != 0)); then echo "SKIP: needs root (runc)"; exit 77; fi
    command -v "$BERTH_RUNC" >/dev/null || { echo "SKIP: no runc"; exit 77; }
    [[ -x /bin/busybox ]] || { echo "SKIP: no busybox-static"; exit 77; }
    [[ -x $BUILD/berth-shim ]] || { echo "FAIL: no $BUILD/berth-shim (build first)" >&2; exit 1; }
    [[ -x $SHIM_DRIVER ]] || { echo "FAIL: no $SHIM_DRIVER (build first)" >&2; exit 1; }
    berth_test_init "$1"
}

step() { echo "--- $*"; }

# mkbundle (lib.sh's, then): the bundle's cgroup is made unique to this test
# run ("cgroupsPath": "/berth-test/berth-test.XXXXXX/shim-NAME", under the
# test's cgroup parent, which the cleanup sweeps even after a failure).
# Without it runc puts every container in "<shim's cgroup>/ID", so
# tests running at the same time with the same task id would share a cgroup
# (and `runc kill --all`, `runc ps` and the OOM counter with it); see
# shim_isolation.sh. SHIM_RAW_BUNDLE=1 keeps the bundle as tools/mkbundle
# wrote it.
eval "_lib_$(declare -f mkbundle)"
mkbundle() {
    local dir
    dir=$(_lib_mkbundle "$@") || exit 1
    if [[ ${SHIM_RAW_BUNDLE:-0} != 1 ]]; then
        local cg
        cg="$(berth_cgroup_parent)/shim-${1}"
        sed -i "0,/\"linux\": {/s|\"linux\": {|\"linux\": {\n\t\t\"cgroupsPath\": \"$cg\",|" "$dir/config.json"
        grep -q '"cgroupsPath"' "$dir/config.json" || fail "mkbundle $1: could not set cgroupsPath"
    fi
    printf '%s\n' "$dir"
}

# shim_start ID BUNDLE — start a shim for task ID (namespace $SHIM_NS) on
# $T/state; print its socket path. Fails the test if the shim does not start
# or the socket is not where docs/wire.md says.
shim_start() {
    local id=$1 bundle=$2 sock
    # --cgroup-parent: a spec without cgroupsPath (SHIM_RAW_BUNDLE) lands
    # under this test's own parent, which the cleanup removes.
    sock=$("$BERTH_SHIM" start --namespace "$SHIM_NS" --id "$id" --bundle "$bundle" \
        --state-dir "$T/state" --runtime "$BERTH_RUNC" --log-level debug \
        --cgroup-parent "$(berth_cgroup_parent)") ||
        fail "berth-shim start $id failed"
    [[ $sock == "$T/state/$SHIM_NS/$id/shim.sock" ]] ||
        fail "berth-shim start $id printed '$sock', not $T/state/$SHIM_NS/$id/shim.sock"
    [[ -S $sock ]] || fail "berth-shim start $id: no socket at $sock"
    printf '%s\n' "$sock"
}

# shim_up ID BUNDLE — shim_start, then shim_pid: the socket in $S, the
# shim's pid in $spid.
shim_up() {
    S=$(shim_start "$1" "$2")
    spid=$(shim_pid "$1")
}

# slow_runc OP SECONDS — write $T/slow-OP-runc, runc whose OP (a runc
# subcommand) first touches $T/slow-OP-ran and sleeps SECONDS; print its path.
slow_runc() {
    cat >"$T/slow-$1-runc" <<END
#!/bin/sh
case " \$* " in *" $1 "*) : >"$T/slow-$1-ran"; sleep $2 ;; esac
exec "$(command -v "$BERTH_RUNC")" "\$@"
END
    chmod +x "$T/slow-$1-runc"
    printf '%s\n' "$T/slow-$1-runc"
}

# shim_up_runtime ID BUNDLE RUNTIME — shim_up, the shim driving RUNTIME.
shim_up_runtime() {
    S=$("$BERTH_SHIM" start --namespace "$SHIM_NS" --id "$1" --bundle "$2" --state-dir "$T/state" \
        --runtime "$3" --cgroup-parent "$(berth_cgroup_parent)") || fail "berth-shim start $1 failed"
    spid=$(shim_pid "$1")
}

# shim_down — delete the task of $S, shut its shim down, wait until $spid is gone.
shim_down() {
    drv "$S" delete >/dev/null
    drv "$S" shutdown >/dev/null
    shim_wait_gone "$spid"
}

# shim_pid ID — the shim's pid (first field of STATE/NS/ID/shim.pid). The
# daemon writes shim.pid after `berth-shim start` has printed the socket, so
# this waits (up to 2 s) for the file.
shim_pid() {
    local f=$T/state/$SHIM_NS/$1/shim.pid line
    WAIT_FOR_TIMEOUT=2 poll_for test -s "$f" || fail "no $f"
    line=$(<"$f")
    line=${line%% *}
    [[ $line =~ ^[0-9]+$ ]] || fail "$f holds '$(<"$f")', not 'PID STARTTIME'"
    printf '%s\n' "$line"
}

# drv SOCK CMD ARGS... — one Shim RPC; prints the driver's answer. On an
# error (or a time-out) the driver's stderr is shown and the test fails.
drv() {
    local out rc=0
    out=$(timeout "${DRV_TIMEOUT:-15}" "$SHIM_DRIVER" "$@" 2>"$T/drv.err") || rc=$?
    if ((rc != 0)); then
        ((rc == 124)) && fail "shim_driver $* timed out after ${DRV_TIMEOUT:-15}s"
        fail "shim_driver $* failed (rc $rc): $(<"$T/drv.err")"
    fi
    printf '%s\n' "$out"
}

# drv_err SOCK CMD ARGS... — a call that must fail: prints its stderr line
# ("error: CODE: message"); fails the test if the call succeeds.
drv_err() {
    local out rc=0
    out=$(timeout "${DRV_TIMEOUT:-15}" "$SHIM_DRIVER" "$@" 2>&1 >/dev/null) || rc=$?
    ((rc != 124)) || fail "shim_driver $* timed out after ${DRV_TIMEOUT:-15}s"
    ((rc != 0)) || fail "shim_driver $* succeeded, expected an error"
    printf '%s\n' "$out"
}

# drv_fails CODE SOCK CMD ARGS... — the call must fail with "error: CODE: ...".
drv_fails() {
    local code=$1 err
    shift
    err=$(drv_err "$@")
    [[ $err == "error: $code: "* ]] || fail "shim_driver $*: expected 'error: $code: ...', got '$err'"
}

# drv_events SOCK AFTER COUNT TIMEOUT_MS — the events after AFTER, one a line,
# with pids dropped ("3 exit id=t1 status=0"). Does not fail on a short count
# (the driver's rc 4): the caller compares the whole list.
drv_events() {
    local out rc=0
    out=$(timeout "${DRV_TIMEOUT:-15}" "$SHIM_DRIVER" "$1" events "${@:2}" 2>"$T/drv.err") || rc=$?
    ((rc == 0 || rc == 4)) || fail "shim_driver $1 events ${*:2} failed (rc $rc): $(<"$T/drv.err")"
    printf '%s\n' "$out" | sed -E 's/ pid=[0-9]+//'
}

# state_is SOCK WANT [EID] — `state` reports status WANT (for wait_for).
state_is() {
    local st
    st=$("$SHIM_DRIVER" "$1" state ${3:+"$3"} 2>/dev/null) || return 1
    [[ ${st%% *} == "$2" ]]
}

# shim_wait_gone PID — wait until the shim process PID is gone (not even a
# zombie of ours: the shim is a daemon, its parent is init).
_pid_gone() { pid_gone "$1"; }
shim_wait_gone() {
    WAIT_FOR_TIMEOUT=${WAIT_FOR_TIMEOUT:-5} wait_for _pid_gone "$1"
}

# host_pidns BUNDLE — drop the pid namespace from BUNDLE/config.json, so the
# process is no pid-namespace init (which ignores signals it has no handler
# for, SIGTERM included, even from the host).
host_pidns() {
    local c=$1/config.json
    sed -i -z 's/{[[:space:]]*"type": "pid"[[:space:]]*},//' "$c"
    ! grep -q '"type": *"pid"' "$c" || fail "host_pidns: pid namespace still in $c"
}

# children_of PID — "pid ppid stat" of every process whose parent is PID.
children_of() {
    ps -e -o pid=,ppid=,stat= | awk -v p="$1" '$2 == p { print $1, $2, $3 }'
}

# zombies_of PID — the children of PID in state Z.
zombies_of() {
    children_of "$1" | awk '$3 ~ /^Z/'
}
