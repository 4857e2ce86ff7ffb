# shellcheck shell=bash
# Library for berth integration tests that run the real binaries.
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   source "$(dirname "$0")/lib.sh"
#   berth_test_init my-test            # $T, $BERTHD, $BERTHCTL, EXIT trap
#   berth_start_daemon                 # berthd on $T/root, $T/state, $T/berthd.sock
#   b=$(mkbundle sleeper -- sleep 100) # OCI bundle at $T/bundles/sleeper
#   ctl run -d --bundle "$b" t1
#   assert_eq running "$(json_get "$(ctl state t1)" status)" "t1 runs"
#   ...
#   berth_kill_daemon TERM; berth_leaks_check
#
# Environment: BERTH_BUILD (build dir; default <project>/build), BERTH_SRC
# (project root; default from this file's location), BERTH_RUNC (default runc),
# BERTH_TEST_KEEP=1 (keep $T after the test; processes are still killed),
# WAIT_FOR_TIMEOUT (seconds, default 10), BERTH_LEAK_GRACE (seconds, default 2),
# BERTH_LOG_LEVEL (berthd's --log-level, default debug).
# A test that cannot run (e.g. not root) should `exit 77` (meson: skipped).

BERTH_SRC=${BERTH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BERTH_BUILD:-$BERTH_SRC/build}
BERTH_RUNC=${BERTH_RUNC:-runc}
BERTHD=$BUILD/berthd
BERTHCTL=$BUILD/berthctl
BERTH_SHIM=$BUILD/berth-shim
MKBUNDLE=$BERTH_SRC/tools/mkbundle
T=${T:-}
BERTH_TEST_NAME=${BERTH_TEST_NAME:-}
BERTH_DAEMON_PID=${BERTH_DAEMON_PID:-}
_BERTH_MAIN_PID=

# ---------------------------------------------------------------- assertions

# fail MSG... — print and exit 1 (inside $(...) this only ends the subshell).
fail() {
    echo "FAIL${BERTH_TEST_NAME:+ [$BERTH_TEST_NAME]}: $*" >&2
    exit 1
}

# assert_eq EXPECTED ACTUAL [MSG]
assert_eq() {
    [[ "$1" == "$2" ]] || fail "${3:-assert_eq}: expected '$1', got '$2'"
}

# assert_contains HAYSTACK NEEDLE [MSG]
assert_contains() {
    [[ "$1" == *"$2"* ]] || fail "${3:-assert_contains}: '$2' not found in: $1"
}

_berth_now_us() { echo "${EPOCHREALTIME/./}"; }

# poll_for CMD... — run CMD every 20 ms until it succeeds (0) or
# WAIT_FOR_TIMEOUT seconds (default 10) pass (1). CMD's output is discarded.
poll_for() {
    local deadline=$(($(_berth_now_us) + ${WAIT_FOR_TIMEOUT:-10} * 1000000))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        (($(_berth_now_us) < deadline)) || return 1
        sleep 0.02
    done
}

# wait_for CMD... — like poll_for but fails the test on time-out.
wait_for() {
    poll_for "$@" || fail "timed out after ${WAIT_FOR_TIMEOUT:-10}s waiting for: $*"
}

# json_get JSON KEY — print the value of top-level KEY of the one-line JSON
# object JSON: strings unquoted (simple escapes decoded), numbers, true/false/
# null as written, objects/arrays as their raw text. KEY may be a dotted path
# (event.container_id). Returns 1 (printing nothing) if the key is absent.
json_get() {
    local s=$1 key=$2 rest=
    if [[ $key == *.* ]]; then
        rest=${key#*.}
        key=${key%%.*}
    fi
    local n=${#s} i=0 c k start _J_STR
    # to the opening brace
    while ((i < n)) && [[ ${s:i:1} != '{' ]]; do i=$((i + 1)); done
    ((i < n)) || return 1
    i=$((i + 1))
    while :; do
        _json_ws
        c=${s:i:1}
        [[ $c == '"' ]] || return 1 # '}' or garbage: key not found
        _json_string || return 1
        k=$_J_STR
        _json_ws
        [[ ${s:i:1} == ':' ]] || return 1
        i=$((i + 1))
        _json_ws
        start=$i
        if [[ $k == "$key" ]]; then
            if [[ ${s:i:1} == '"' ]]; then
                _json_string || return 1
                [[ -z $rest ]] || return 1
                printf '%s\n' "$_J_STR"
                return 0
            fi
            _json_skip || return 1
            if [[ -n $rest ]]; then
                json_get "${s:start:i-start}" "$rest"
                return
            fi
            printf '%s\n' "${s:start:i-start}"
            return 0
        fi
        _json_skip || return 1
        _json_ws
        [[ ${s:i:1} == ',' ]] || return 1
        i=$((i + 1))
    done
}

# helpers of json_get (work on its locals s, n, i)
_json_ws() {
    while ((i < n)); do
        case ${s:i:1} in ' ' | $'\t' | $'\n' | $'\r') i=$((i + 1)) ;; *) return 0 ;; esac
    done
}

_json_string() { # at '"'; sets _J_STR, i after the closing quote
    local out='' c run
    i=$((i + 1))
    while ((i < n)); do
        run=${s:i}
        run=${run%%[\"\\]*}
        out+=$run
        i=$((i + ${#run}))
        c=${s:i:1}
        if [[ $c == '"' ]]; then
            i=$((i + 1))
            _J_STR=$out
            return 0
        elif [[ $c == '\' ]]; then
            c=${s:i+1:1}
            case $c in
                n) out+=$'\n' ;;
                t) out+=$'\t' ;;
                r) out+=$'\r' ;;
                b) out+=$'\b' ;;
                f) out+=$'\f' ;;
                u) printf -v c "\\u${s:i+2:4}"; out+=$c; i=$((i + 4)) ;;
                *) out+=$c ;;
            esac
            i=$((i + 2))
        fi
    done
    return 1
}

_json_skip() { # skip one value of any kind
    local depth=0 c
    while ((i < n)); do
        c=${s:i:1}
        case $c in
            '"') _json_string || return 1; ((depth)) || return 0; continue ;;
            '{' | '[') depth=$((depth + 1)) ;;
            '}' | ']')
                ((depth)) || return 0 # end of the enclosing object: scalar ended
                depth=$((depth - 1))
                if ((depth == 0)); then i=$((i + 1)); return 0; fi
                ;;
            ',' | ' ' | $'\t' | $'\n' | $'\r') ((depth)) || return 0 ;;
        esac
        i=$((i + 1))
    done
    ((depth == 0))
}

# ------------------------------------------------------------------- set-up

# berth_test_init NAME — make $T (root/, state/, bundles/), set the binary
# paths, export BERTH_ADDRESS, install the EXIT trap (berth_cleanup).
berth_test_init() {
    BERTH_TEST_NAME=${1:-test}
    T=$(mktemp -d /tmp/berth-test.XXXXXX)
    mkdir -p "$T/root" "$T/state" "$T/bundles"
    BERTHD=$BUILD/berthd
    BERTHCTL=$BUILD/berthctl
    BERTH_SHIM=$BUILD/berth-shim
    BERTH_DAEMON_PID=
    export BERTH_ADDRESS=$T/berthd.sock
    # berthctl's FIFO dirs: inside $T, so that the cleanup takes what a
    # killed berthctl left (by default they go to /dev/shm)
    mkdir -p "$T/tmp"
    export TMPDIR=$T/tmp
    export BERTH_NAMESPACE=${BERTH_NAMESPACE:-default}
    _BERTH_MAIN_PID=$BASHPID
    trap '_berth_exit_trap' EXIT
    # Make meson's SIGTERM (time-out) and ^C run the EXIT trap too.
    trap 'exit 143' TERM
    trap 'exit 130' INT
}

# berth_cgroup_parent — the cgroup parent of this test's berthd.
berth_cgroup_parent() { echo "/berth-test/${T##*/}"; }

_berth_exit_trap() {
    local rc=$?
    # Only the test's own shell cleans up, never a subshell that exits.
    [[ $BASHPID == "$_BERTH_MAIN_PID" ]] || return 0
    berth_cleanup "$rc"
}

# ------------------------------------------------------------------- daemon

# berth_start_daemon [ARGS...] — start berthd in the background (stdio to
# $T/berthd.log, appended across restarts); wait up to 5 s until the socket
# exists and `berthctl list` succeeds, else fail with the log.
berth_start_daemon() {
    [[ -n $T ]] || fail "berth_start_daemon before berth_test_init"
    [[ -x $BERTHD ]] || fail "no berthd at $BERTHD (build first, or set BERTH_BUILD)"
    if [[ -n $BERTH_DAEMON_PID ]] && kill -0 "$BERTH_DAEMON_PID" 2>/dev/null; then
        fail "berth_start_daemon: berthd (pid $BERTH_DAEMON_PID) is still running"
    fi
    echo "=== $(date -u +%FT%T.%NZ) berthd start $*" >>"$T/berthd.log"
    # A cgroup parent of this test's own: tests run two at a time and reuse
    # namespace/id pairs, which must not share a cgroup.
    "$BERTHD" --root "$T/root" --state "$T/state" --address "$T/berthd.sock" \
        --cgroup-parent "$(berth_cgroup_parent)" \
        --log-level "${BERTH_LOG_LEVEL:-debug}" "$@" </dev/null >>"$T/berthd.log" 2>&1 &
    BERTH_DAEMON_PID=$!
    local deadline=$(($(_berth_now_us) + 5000000))
    while :; do
        if [[ -e $T/berthd.sock ]] && ctl list >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$BERTH_DAEMON_PID" 2>/dev/null || _berth_is_zombie "$BERTH_DAEMON_PID"; then
            local st=0
            wait "$BERTH_DAEMON_PID" 2>/dev/null || st=$?
            BERTH_DAEMON_PID=
            echo "--- $T/berthd.log" >&2
            cat "$T/berthd.log" >&2
            fail "berthd exited (status $st) before it was ready"
        fi
        if (($(_berth_now_us) >= deadline)); then
            echo "--- $T/berthd.log" >&2
            cat "$T/berthd.log" >&2
            fail "berthd not ready after 5 s (socket $T/berthd.sock)"
        fi
        sleep 0.02
    done
}

# pid_gone PID — true once PID is dead: gone, or a zombie its parent has not
# reaped yet (our shims' parent is pid 1, which may reap late).
pid_gone() { ! kill -0 "$1" 2>/dev/null || _berth_is_zombie "$1"; }

_berth_is_zombie() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} == Z ]]
}

# berth_kill_daemon [SIG] — signal berthd (default KILL; 9, KILL and SIGKILL
# all work) and wait for it to exit (SIGKILL after 10 s). Prints nothing;
# returns 0. $BERTH_DAEMON_STATUS holds its wait status.
berth_kill_daemon() {
    local sig=${1:-KILL} pid=$BERTH_DAEMON_PID
    sig=${sig#SIG}
    BERTH_DAEMON_STATUS=
    [[ -n $pid ]] || return 0
    kill -s "$sig" "$pid" 2>/dev/null || true
    local deadline=$(($(_berth_now_us) + 10000000))
    while kill -0 "$pid" 2>/dev/null && ! _berth_is_zombie "$pid"; do
        if (($(_berth_now_us) >= deadline)); then
            echo "berth_kill_daemon: berthd ignored SIG$sig for 10 s, killing it" >&2
            kill -s KILL "$pid" 2>/dev/null || true
            deadline=$((deadline + 10000000))
        fi
        sleep 0.02
    done
    local st=0
    wait "$pid" 2>/dev/null || st=$?
    BERTH_DAEMON_STATUS=$st
    BERTH_DAEMON_PID=
    return 0
}

# pid_file_runtime PATH OPS POST — write PATH, a runc wrapper for tests of
# what happens after runc returned and before the shim has its answer. For
# the runc subcommands in OPS (e.g. "create exec") runc writes its --pid-file
# aside; then the bash snippet POST runs ($st: runc's status, $held: the pid
# file runc wrote), and only after it the pid file goes into place, by a
# rename, as runc's own does: the shim takes such a call as done once its pid
# file is there (shim/pid_file_watch.h). POST may exit (the pid file never
# comes). Other calls go to runc as they are.
pid_file_runtime() {
    local path=$1 ops=$2 post=$3
    cat >"$path" <<END
#!/bin/bash
runc=$(command -v "$BERTH_RUNC")
for op in $ops; do
    case " \$* " in *" \$op "*)
        args=() prev= pidfile=
        for a; do
            if [[ \$prev == --pid-file ]]; then pidfile=\$a; args+=("\$a.held"); else args+=("\$a"); fi
            prev=\$a
        done
        "\$runc" "\${args[@]}"
        st=\$? held=\$pidfile.held
$post
        [[ -n \$pidfile && -e \$held ]] && mv "\$held" "\$pidfile"
        exit \$st ;;
    esac
done
exec "\$runc" "\$@"
END
    chmod +x "$path"
}

# ctl ARGS... — berthctl against this test's berthd.
ctl() {
    "$BERTHCTL" --address "$T/berthd.sock" "$@"
}

# mkbundle NAME [--memory BYTES] [--tty] [-- CMD ARGS...] — make
# $T/bundles/NAME with tools/mkbundle and print its path.
mkbundle() {
    local name=$1
    shift
    [[ -n $name && $name != */* ]] || fail "mkbundle: bad bundle name '$name'"
    "$MKBUNDLE" "$T/bundles/$name" "$@" >&2 || fail "mkbundle $name failed"
    printf '%s\n' "$T/bundles/$name"
}

# ------------------------------------------------------------------ cleanup

# _berth_read_cmdline PID — /proc/PID/cmdline, NULs as spaces, into
# _BERTH_CMDLINE; false if unreadable. No fork: on a time-out meson gives
# the cleanup 0.5 s before it SIGKILLs the test, and a `tr` per process
# scanned made step 4 alone take longer than that.
_berth_read_cmdline() {
    local -a parts
    _BERTH_CMDLINE=
    mapfile -d '' parts 2>/dev/null <"/proc/$1/cmdline" || return 1
    _BERTH_CMDLINE="${parts[*]}"
}
_berth_cmdline() { # print /proc/PID/cmdline with NULs as spaces
    _berth_read_cmdline "$1" || return 1
    printf '%s\n' "$_BERTH_CMDLINE"
}

# pids (not ours, not zombies) whose command line mentions $T
_berth_pids_mentioning_T() {
    local p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [[ $p == "$$" || $p == "$BASHPID" || $p == "$_BERTH_MAIN_PID" ]] && continue
        _berth_read_cmdline "$p" || continue
        [[ $_BERTH_CMDLINE == *"$T"* ]] && printf '%s\n' "$p"
    done
}

# berth_bg PID... — background jobs of the test (a loop, a worker) that the
# cleanup ends first, by pid: their command line is the test script's own,
# which names no path under $T.
BERTH_BG_PIDS=()
berth_bg() { BERTH_BG_PIDS+=("$@"); }

# mount points under $T, deepest first
_berth_mounts_under_T() {
    local _a _b _c _d mp _rest
    while read -r _a _b _c _d mp _rest; do
        mp=${mp//\\040/ }
        mp=${mp//\\011/$'\t'}
        mp=${mp//\\012/$'\n'}
        mp=${mp//\\134/\\}
        [[ $mp == "$T" || $mp == "$T"/* ]] && printf '%d %s\n' "${#mp}" "$mp"
    done </proc/self/mountinfo | sort -rn -k1,1 | cut -d' ' -f2-
}

# berth_cleanup [STATUS] — kill and remove everything the test started below
# $T: berthd, the shims (by pid file, after checking their command line),
# runc containers under $T/state/runc/*, any process still naming $T, mounts
# under $T; then rm -rf $T. On a non-zero STATUS, first show the logs.
# Idempotent; safe under set -e.
berth_cleanup() {
    local -
    set +e +u
    local rc=${1:-0} f pid c ns id m pass
    [[ -n $T && -d $T ]] || return 0
    if [[ $rc != 0 ]]; then
        {
            echo "--- test failed (status $rc); logs from $T"
            if [[ -f $T/berthd.log ]]; then
                echo "--- berthd.log (last 200 lines)"
                tail -n 200 "$T/berthd.log"
            fi
            for f in "$T"/state/*/*/*.log "$T"/state/*/*/log; do
                [[ -f $f ]] || continue
                echo "--- $f (last 50 lines)"
                tail -n 50 "$f"
            done
        } >&2
    fi
    # 0. the test's background loops (they would start more), those still
    # our children: one the test ended already may have a new owner's pid
    local bg stat
    for bg in "${BERTH_BG_PIDS[@]}"; do
        read -r stat 2>/dev/null <"/proc/$bg/stat" || continue
        stat=${stat##*) }  # after the command name: STATE PPID ...
        stat=${stat#* }
        [[ ${stat%% *} == "$_BERTH_MAIN_PID" ]] && kill -s KILL "$bg" 2>/dev/null
    done
    # 1. berthd
    berth_kill_daemon KILL
    # 2. shims, by their pid files; only if that pid really is a berth-shim
    for f in "$T"/state/*/*/shim.pid; do
        [[ -f $f ]] || continue
        pid=$(<"$f")
        pid=${pid%% *}  # "PID STARTTIME"
        [[ $pid =~ ^[0-9]+$ ]] || continue
        _berth_read_cmdline "$pid" || continue
        [[ $_BERTH_CMDLINE == *berth-shim* ]] && kill -s KILL "$pid" 2>/dev/null
    done
    # 3. runc containers
    for ns in "$T"/state/runc/*/; do
        [[ -d $ns ]] || continue
        ns=${ns%/}
        while read -r id; do
            [[ -n $id ]] || continue
            "$BERTH_RUNC" --root "$ns" delete --force "$id" >/dev/null 2>&1 ||
                echo "berth_cleanup: runc delete --force $id failed (root $ns)" >&2
        done < <("$BERTH_RUNC" --root "$ns" list -q 2>/dev/null)
    done
    # 4. anything else still naming $T (e.g. a `berth-shim delete`), by pid
    for pass in 1 2 3; do
        local -a left=()
        mapfile -t left < <(_berth_pids_mentioning_T)
        ((${#left[@]})) || break
        kill -s KILL "${left[@]}" 2>/dev/null
        sleep 0.05
    done
    # 5. mounts under $T, deepest first (a few passes for stacked mounts)
    for pass in 1 2 3 4 5; do
        local -a mounts=()
        mapfile -t mounts < <(_berth_mounts_under_T)
        ((${#mounts[@]})) || break
        for m in "${mounts[@]}"; do
            umount -l "$m" 2>/dev/null
        done
    done
    # 6. the test's cgroups (runc removes a task's own, not its parents).
    # First what still runs in them: a container whose create was in flight
    # when the test failed (runc's init names no path under $T). Thawed
    # first: a frozen process cannot die.
    local cg parent
    parent=$(berth_cgroup_parent)
    [[ -d /sys/fs/cgroup/freezer$parent ]] &&
        find "/sys/fs/cgroup/freezer$parent" -name freezer.state -exec sh -c 'echo THAWED >"$1"' _ {} \; 2>/dev/null
    for pass in 1 2 3; do
        local -a inside=()
        # (berthd's tasks at NS/ID, the shim tests' at shim-NAME)
        mapfile -t inside < <(cat /sys/fs/cgroup/pids"$parent"/*/*/cgroup.procs \
            /sys/fs/cgroup/pids"$parent"/*/cgroup.procs \
            /sys/fs/cgroup"$parent"/*/*/cgroup.procs /sys/fs/cgroup"$parent"/*/cgroup.procs 2>/dev/null)
        ((${#inside[@]})) || break
        kill -s KILL "${inside[@]}" 2>/dev/null
        sleep 0.05
    done
    for cg in /sys/fs/cgroup/*"$parent" /sys/fs/cgroup"$parent"; do
        [[ -d $cg ]] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
        # and the parent all tests share, once empty: a test running beside
        # us keeps it busy (rmdir fails), and runc makes it again if needed
        [[ -d ${cg%/*} ]] && rmdir "${cg%/*}" 2>/dev/null
    done
    # 7. the directory
    if [[ ${BERTH_TEST_KEEP:-0} == 1 ]]; then
        echo "berth_cleanup: kept $T" >&2
    elif [[ $T == /tmp/berth-test.* ]]; then
        rm -rf "$T" 2>/dev/null || echo "berth_cleanup: could not remove all of $T" >&2
    fi
    return 0
}

# berth_leaks_check — fail if, after up to BERTH_LEAK_GRACE seconds (default 2),
# a process other than the running berthd started here still names $T in its
# command line, a runc container remains under $T/state/runc, or anything is
# mounted under $T. Call it after the test has deleted its tasks.
berth_leaks_check() {
    local deadline=$(($(_berth_now_us) + ${BERTH_LEAK_GRACE:-2} * 1000000))
    local -a procs mounts containers
    local p ns id report
    while :; do
        procs=() mounts=() containers=()
        while read -r p; do
            [[ -n $p && $p != "$BERTH_DAEMON_PID" ]] && procs+=("$p")
        done < <(_berth_pids_mentioning_T)
        mapfile -t mounts < <(_berth_mounts_under_T)
        for ns in "$T"/state/runc/*/; do
            [[ -d $ns ]] || continue
            while read -r id; do
                [[ -n $id ]] && containers+=("${ns%/}:$id")
            done < <("$BERTH_RUNC" --root "${ns%/}" list -q 2>/dev/null)
        done
        ((${#procs[@]} + ${#mounts[@]} + ${#containers[@]})) || return 0
        (($(_berth_now_us) < deadline)) || break
        sleep 0.05
    done
    report=
    for p in "${procs[@]}"; do
        report+=$'\n'"  process $p: $(_berth_cmdline "$p")"
    done
    for p in "${mounts[@]}"; do report+=$'\n'"  mount $p"; done
    for p in "${containers[@]}"; do report+=$'\n'"  runc container $p"; done
    fail "leaks under $T:$report"
}
