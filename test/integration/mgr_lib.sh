# shellcheck shell=bash
# Helpers shared by the berthd tests (mgr_*.sh); sourced after lib.sh.

# mgr_require [TOOL...] — skip (77) where the real binaries cannot run, or
# where a TOOL the test needs (jq) is missing.
mgr_require() {
    if ((EUID != 0)); then echo "SKIP: needs root (runc)"; exit 77; fi
    command -v "$BERTH_RUNC" >/dev/null || { echo "SKIP: no runc"; exit 77; }
    [[ -x /bin/busybox ]] || { echo "SKIP: no busybox-static"; exit 77; }
    local b
    for b in "$BERTHD" "$BERTHCTL" "$BERTH_SHIM"; do
        [[ -x $b ]] || fail "missing $b (build first, or set BERTH_BUILD)"
    done
    for b; do
        command -v "$b" >/dev/null || { echo "SKIP: no $b"; exit 77; }
    done
}

# expect_error CODE CMD... — CMD must exit 1 with "berthctl: CODE: ..." on
# stderr; the message (after the code) goes to stdout for more checks.
expect_error() {
    local code=$1 st=0 err
    shift
    err=$("$@" 2>&1 >/dev/null) || st=$?
    [[ $st == 1 ]] || fail "$*: exit $st, wanted 1 ($err)"
    [[ $err == "berthctl: $code: "* ]] || fail "$*: wanted 'berthctl: $code: ...', got: $err"
    printf '%s\n' "${err#"berthctl: $code: "}"
}

# status_of ID — the task's status word.
status_of() {
    json_get "$(ctl state "$1")" status
}

# status_is ID WANT — the task's status is WANT now (for wait_for, which
# runs it again each time: `wait_for test "$(status_of ID)" = X` looked once).
status_is() {
    local st
    st=$(json_get "$(ctl state "$1" 2>/dev/null)" status 2>/dev/null) || return 1
    [[ $st == "$2" ]]
}

# assert_waited PID FILE STATUS WHAT — the background `berthctl wait` PID,
# its output in FILE, ended 0 and answered exit_status STATUS.
assert_waited() {
    local st=0
    wait "$1" || st=$?
    assert_eq 0 "$st" "$4 ($(<"$2"))"
    assert_eq "$3" "$(json_get "$(<"$2")" exit_status)" "$4: its exit status"
}

# kill_and_delete ID... — SIGKILL each task, wait for its exit, delete it.
kill_and_delete() {
    local id
    for id; do
        ctl kill --signal KILL "$id"
        ctl wait "$id" >/dev/null
        ctl delete "$id" >/dev/null
    done
}

# a bundle whose init exits 143 on SIGTERM (a PID 1 ignores an unhandled TERM)
mkbundle_sleeper() {
    mkbundle "${1:-sleeper}" -- sh -c 'trap "exit 143" TERM; sleep 1000 & wait'
}

# term_ready ID — wait until the task's init catches SIGTERM. `start` returns
# once the sleeper's shell runs, but its trap comes a moment later, and a
# SIGTERM before it is dropped (PID 1): on a loaded machine a kill right after
# start could be lost and the wait hang.
term_ready() {
    local pid
    pid=$(json_get "$(ctl state "$1")" pid)
    wait_for _catches_term "$pid"
}
_catches_term() {
    local mask
    mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
    [[ -n $mask ]] && (((16#$mask >> 14) & 1))  # bit 14: SIGTERM (15)
}

# now_ms — wall clock in milliseconds
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# timed MS WHILE CMD... — run CMD; fail if it fails or takes MS ms or more
# (WHILE says what was going on, for the message: "the disk was stalled").
timed() {
    local limit=$1 during=$2 t0 took
    shift 2
    t0=$(now_ms)
    "$@" >/dev/null || fail "$* failed while $during"
    took=$(($(now_ms) - t0))
    echo "  $* took $took ms"
    ((took < limit)) || fail "$* took $took ms (limit $limit) while $during"
}

# shim_pids — pids of berth-shim processes serving this test's state dir
shim_pids() {
    local f pid
    for f in "$T"/state/*/*/shim.pid; do
        [[ -f $f ]] || continue
        read -r pid _ <"$f" || continue
        [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
    done
}

# holding_runtime SECONDS OP... — write $T/runc-holding, a runc wrapper that
# first waits SECONDS in each OP (a runc subcommand) while $T/hold-OP exists,
# with bash's own read (no child that could outlive the wrapper), after
# writing its pid to $T/held.pid; print its path.
holding_runtime() {
    local secs=$1
    shift
    [[ -p $T/hold.fifo ]] || mkfifo "$T/hold.fifo"
    cat >"$T/runc-holding" <<END
#!/bin/bash
for op in $*; do
    case " \$* " in *" \$op "*)
        if [[ -e "$T/hold-\$op" ]]; then
            echo \$\$ >"$T/held.pid"
            exec 9<>"$T/hold.fifo"
            read -r -t $secs -u 9 || true
        fi ;;
    esac
done
exec "$(command -v "$BERTH_RUNC")" "\$@"
END
    chmod +x "$T/runc-holding"
    echo "$T/runc-holding"
}

# runc_list NS — container ids runc knows in the namespace
runc_list() {
    "$BERTH_RUNC" --root "$T/state/runc/$1" list -q 2>/dev/null || true
}
