# shellcheck shell=bash
# Helpers shared by the Task API tests (api_*.sh); sourced after lib.sh and
# mgr_lib.sh.

# api_init NAME [--no-daemon] — skip where the binaries cannot run, make $T,
# start berthd (unless --no-daemon). The namespace is unique to this run, so
# the tests' events and lists never mix (their cgroups are apart anyway: each
# test's berthd has its own --cgroup-parent, see lib.sh).
api_init() {
    mgr_require
    export BERTH_NAMESPACE=${1}-$$
    berth_test_init "$1"
    trap '_api_exit_trap' EXIT
    [[ ${2:-} == --no-daemon ]] || berth_start_daemon
}

# On exit: the test's own api_before_cleanup (if it defines one), then
# lib.sh's cleanup (which also removes the test's cgroups).
_api_exit_trap() {
    local rc=$?
    set +e
    [[ $BASHPID == "$_BERTH_MAIN_PID" ]] || return 0
    if declare -F api_before_cleanup >/dev/null; then api_before_cleanup; fi
    (exit "$rc")
    _berth_exit_trap
    return 0
}

# events_start — stream every event to $T/events.out in the background.
events_start() {
    "$BERTHCTL" --address "$T/berthd.sock" events >"$T/events.out" 2>"$T/events.err" &
    API_EVENTS_PID=$!
    sleep 0.2
}

# events_stop — end the stream started by events_start.
events_stop() {
    [[ -n ${API_EVENTS_PID:-} ]] || return 0
    kill "$API_EVENTS_PID" 2>/dev/null || true
    wait "$API_EVENTS_PID" 2>/dev/null || true
    API_EVENTS_PID=
}

# event_line TOPIC ID [PROC] — the first event line of TOPIC for container
# ID; for /tasks/exit (which names the process too) that of process PROC,
# by default the init (id = ID).
event_line() {
    local proc=${3:-}
    [[ -n $proc || $1 != /tasks/exit ]] || proc=$2
    grep -F "\"topic\":\"$1\"" "$T/events.out" | grep -F "\"container_id\":\"$2\"" |
        { if [[ -n $proc ]]; then grep -F "\"id\":\"$proc\""; else cat; fi; } | head -1
}

# has_event TOPIC ID — true once such an event was streamed.
has_event() { [[ -n $(event_line "$1" "$2") ]]; }

# cgroup_v2 — true on a unified (v2 only) hierarchy.
cgroup_v2() { [[ -f /sys/fs/cgroup/cgroup.controllers ]]; }

# cgroup_dir CONTROLLER ID — the task's cgroup directory (v1: under the
# controller's hierarchy; v2: the one unified directory).
cgroup_dir() {
    if cgroup_v2; then
        echo "/sys/fs/cgroup$(berth_cgroup_parent)/$BERTH_NAMESPACE/$2"
    else
        echo "/sys/fs/cgroup/$1$(berth_cgroup_parent)/$BERTH_NAMESPACE/$2"
    fi
}

# freezer_state ID — FROZEN or THAWED, as the kernel has the task's cgroup
# (v1: freezer.state; v2: the "frozen" line of cgroup.events).
freezer_state() {
    if cgroup_v2; then
        if grep -qx 'frozen 1' "$(cgroup_dir "" "$1")/cgroup.events"; then echo FROZEN; else echo THAWED; fi
    else
        cat "$(cgroup_dir freezer "$1")/freezer.state"
    fi
}

# mounts_under DIR — mount points at or below DIR in /proc/self/mountinfo.
mounts_under() {
    local _a _b _c _d mp _rest
    while read -r _a _b _c _d mp _rest; do
        mp=${mp//\\040/ }
        [[ $mp == "$1" || $mp == "$1"/* ]] && printf '%s\n' "$mp"
    done </proc/self/mountinfo
    return 0
}

# json_keys JSON — the top-level keys of a one-line JSON object, in order,
# space separated (nested objects and arrays skipped).
json_keys() {
    local s=$1 n=${#1} i=0 _J_STR out=''
    while ((i < n)) && [[ ${s:i:1} != '{' ]]; do i=$((i + 1)); done
    i=$((i + 1))
    while :; do
        _json_ws
        [[ ${s:i:1} == '"' ]] || break
        _json_string || return 1
        out+="$_J_STR "
        _json_ws
        [[ ${s:i:1} == ':' ]] || return 1
        i=$((i + 1))
        _json_ws
        _json_skip || return 1
        _json_ws
        [[ ${s:i:1} == ',' ]] || break
        i=$((i + 1))
    done
    printf '%s\n' "${out% }"
}

# gated_runtime OP... — write $T/runc-gated, a runc wrapper whose calls of
# each OP (a runc subcommand) first note their pid in $T/gated-OP and wait
# until $T/open-OP exists (bash's own read on a FIFO nobody writes as the
# pause: no child that could outlive the wrapper); an update also appends
# the resources it was given, as runc reads them then, to $T/update-seen.
# Print its path.
gated_runtime() {
    [[ -p $T/gate.fifo ]] || mkfifo "$T/gate.fifo"
    cat >"$T/runc-gated" <<END
#!/bin/bash
runc=$(command -v "$BERTH_RUNC")
for op in $*; do
    case " \$* " in *" \$op "*)
        echo \$\$ >>"$T/gated-\$op"
        exec 9<>"$T/gate.fifo"
        until [[ -e "$T/open-\$op" ]]; do read -r -t 0.05 -u 9 || true; done
        if [[ \$op == update ]]; then
            args=("\$@") res=
            for ((i = 0; i < \${#args[@]}; i++)); do [[ \${args[i]} == --resources ]] && res=\${args[i+1]}; done
            if [[ \$res == - ]]; then data=\$(cat); else data=\$(<"\$res"); fi
            echo "\$data" >>"$T/update-seen"
            exec "\$runc" "\$@" <<<"\$data"
        fi ;;
    esac
done
exec "\$runc" "\$@"
END
    chmod +x "$T/runc-gated"
    echo "$T/runc-gated"
}

# gated_calls OP N — N calls of OP wait (or waited) at the gate (for wait_for).
gated_calls() { [[ $(_gated_count "$1") == "$2" ]]; }
_gated_count() { if [[ -f $T/gated-$1 ]]; then wc -l <"$T/gated-$1"; else echo 0; fi; }

# refused_while_gated OP WANT CALL... // ARGS... — `ctl CALL` runs in the
# background until it waits at OP's gate (shut for it); meanwhile `berthctl
# ARGS` must fail with "failed-precondition: WANT"; then the gate opens and
# CALL must succeed.
refused_while_gated() {
    local op=$1 want=$2 call=() pid n err
    shift 2
    while [[ $1 != // ]]; do call+=("$1"); shift; done
    shift
    n=$(_gated_count "$op")
    rm -f "$T/open-$op"
    ctl "${call[@]}" &
    pid=$!
    berth_bg "$pid"
    wait_for gated_calls "$op" $((n + 1))
    err=$(expect_error failed-precondition timeout 5 "$BERTHCTL" --address "$T/berthd.sock" "$@")
    assert_eq "$want" "$err" "berthctl $* while ctl ${call[*]} waits in runc"
    touch "$T/open-$op"
    wait "$pid" || fail "ctl ${call[*]} failed"
}

