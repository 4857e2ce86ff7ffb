# shellcheck shell=bash
# Shared code of the benchmarks (bench/shim-memory, bench/shim-idle use the
# per-task shims directly; bench/lifecycle, bench/start-rate,
# bench/exit-latency, bench/berthd-memory go through berthd, see "berthd"
# below): start N tasks, each with its own long-lived shim process, under one of
#
#   berth       build/berth-shim start + shim_driver create/start (no berthd)
#   conmon      conmon (daemonizes; runc create) + runc start
#   containerd  a private containerd on $T + `ctr run -d --null-io --rootfs`
#               (one containerd-shim-runc-v2 per task)
#
# and measure the shim processes. Every task runs /bin/sleep 100000 from one
# shared busybox rootfs ($T/rootfs); each task has its own bundle dir.
#
#   source "$(dirname "$0")/lib.sh"
#   bench_init shim-memory          # $T, EXIT trap, $RUNTIMES (installed ones)
#   rt_setup berth; rt_up berth s1  # sets $SHIM_PID; rt_pids berth -> all pids
#   rt_down berth                   # graceful teardown; the trap cleans the rest
#
# Each runtime's shim binary is copied to $T/bin, so a shim's text pages are
# not shared with shims other people run from the same file (berth's build dir
# is used by tests concurrently); the "first shim" figure then really is alone.
#
# Environment: BERTH_BUILD (default build), RUNTIMES (default: every installed
# one of "berth conmon containerd"; scripts may set BENCH_RUNTIMES_DEFAULT,
# e.g. with "runc", the bare `runc run` floor), SETTLE (seconds to wait after starting
# tasks before measuring, default 2), BENCH_KEEP=1 (keep $T; processes are
# still ended).

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BERTH_BUILD:-$BENCH_SRC/build}
[[ $BUILD == /* ]] || BUILD=$BENCH_SRC/$BUILD
DRIVER=$BUILD/test/shim/shim_driver
RUNC=$(command -v runc || true)
NS=bench
T=
TD=                 # persistent roots (disk), beside the tmpfs $T
SHIM_PID=
BG_PIDS=()          # background loops started by a bench script
CTD_PID=            # the private containerd
CTD_ADDR=
_BENCH_MAIN_PID=
_RUN_CONTAINERD_EXISTED=1
BERTHD_PID=         # berthd, when a script runs one (berthd_start)
BD_ADDR=
# what "berth" needs, relative to $BUILD: the shim benches drive the shim
# directly (shim_driver); the berthd benches set "berth-shim berthd berthctl"
BENCH_BERTH_BINS=${BENCH_BERTH_BINS:-berth-shim test/shim/shim_driver}
_NAP_FD=
declare -A PIDS=()  # runtime -> "pid pid ..." of its shims
declare -A _CGROUP_EXISTED=() # cgroup parent dirs runc leaves behind, present before the run
declare -A IDS=()   # runtime -> "id id ..." of its tasks

bench_now_us() { echo "${EPOCHREALTIME/./}"; }
# bench_stamp VAR — the time (us) into VAR, without the fork of a $(bench_now_us)
# (about 0.3-0.5 ms here, which a timed interval would otherwise count).
bench_stamp() { printf -v "$1" '%s' "${EPOCHREALTIME/./}"; }

# nap SECONDS — sleep in the background and wait for it, so a TERM/INT trap
# runs at once instead of after the sleep.
nap() {
    sleep "$1" &
    local p=$!
    BG_PIDS+=("$p")
    wait "$p"
    local q keep=()
    for q in "${BG_PIDS[@]}"; do [[ $q == "$p" ]] || keep+=("$q"); done
    BG_PIDS=("${keep[@]}")
}

# poll SECONDS CMD... — run CMD every 20 ms until it succeeds or time runs out.
poll() {
    local deadline=$(($(bench_now_us) + $1 * 1000000))
    shift
    until "$@" >/dev/null 2>&1; do
        (($(bench_now_us) < deadline)) || return 1
        sleep 0.02
    done
}

alive() { # pid exists and is not a zombie
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    [[ ${s:0:1} != Z ]]
}

cmdline() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline"; }

# kill_if PID PATTERN — SIGKILL PID only if its command line matches *PATTERN*.
kill_if() {
    local c
    c=$(cmdline "$1") || return 0
    [[ $c == *"$2"* ]] && kill -s KILL "$1" 2>/dev/null
    return 0
}

# bench_init NAME — temp dir, trap, shared rootfs, private binaries.
bench_init() {
    local name=$1 rt
    [[ $(id -u) == 0 ]] || { echo "$name: must run as root (runc)" >&2; exit 1; }
    [[ -n $RUNC ]] || { echo "$name: runc not found" >&2; exit 1; }
    T=$(mktemp -d "/tmp/berth-bench-$name.XXXXXX")
    _BENCH_MAIN_PID=$BASHPID
    trap '_bench_exit_trap' EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    # Runtime state on a tmpfs, as /run is on every real host (runc's
    # /run/runc, containerd's /run/containerd, conmon's exit dirs, berth's
    # /run/berth): on this machine /run is ext4, where creating a file costs
    # 0.2-2 ms under churn. The persistent roots (berthd --root, containerd's
    # root) stay on disk in $TD. BENCH_STATE_FS=disk keeps everything on disk.
    TD=$(mktemp -d "/var/tmp/berth-bench-$name-root.XXXXXX")
    if [[ ${BENCH_STATE_FS:-tmpfs} == tmpfs ]]; then
        mount -t tmpfs -o mode=0700 berth-bench "$T" ||
            { echo "$name: cannot mount a tmpfs on $T" >&2; exit 1; }
    fi
    [[ -d /run/containerd ]] || _RUN_CONTAINERD_EXISTED=0
    local cg
    for cg in $(_cgroup_parents); do [[ -d $cg ]] && _CGROUP_EXISTED[$cg]=1; done
    mkdir -p "$T/bin" "$T/tmp"
    export TMPDIR=$T/tmp  # berthctl's FIFO dirs: removed with $T, whatever happens
    local want=${RUNTIMES:-${BENCH_RUNTIMES_DEFAULT:-berth conmon containerd}}
    RUNTIMES=
    for rt in $want; do
        case $rt in
            runc) RUNTIMES+=" runc" ;;
            floor | relays)
                if [[ -x $BUILD/bench/exit_floor ]]; then RUNTIMES+=" $rt"; else
                    echo "$name: skipping $rt: no $BUILD/bench/exit_floor" >&2; fi ;;
            berth)
                local b missing=
                for b in $BENCH_BERTH_BINS; do [[ -x $BUILD/$b ]] || missing+=" $BUILD/$b"; done
                if [[ -z $missing ]]; then
                    cp "$(readlink -f "$BUILD/berth-shim")" "$T/bin/berth-shim"
                    RUNTIMES+=" berth"
                else
                    echo "$name: skipping berth: missing$missing (the lead builds them)" >&2
                fi ;;
            conmon)
                if command -v conmon >/dev/null; then
                    cp "$(command -v conmon)" "$T/bin/conmon"
                    RUNTIMES+=" conmon"
                else
                    echo "$name: skipping conmon: not installed" >&2
                fi ;;
            containerd)
                if command -v containerd >/dev/null && command -v ctr >/dev/null &&
                    command -v containerd-shim-runc-v2 >/dev/null; then
                    cp "$(command -v containerd-shim-runc-v2)" "$T/bin/containerd-shim-runc-v2"
                    RUNTIMES+=" containerd"
                else
                    echo "$name: skipping containerd: containerd, ctr or containerd-shim-runc-v2 missing" >&2
                fi ;;
            *) echo "$name: unknown runtime $rt" >&2; exit 2 ;;
        esac
    done
    RUNTIMES=${RUNTIMES# }
    [[ -n $RUNTIMES ]] || { echo "$name: no runtime to measure" >&2; exit 1; }
    "$BENCH_SRC/tools/mkbundle" "$T/base" -- /bin/sleep 100000 >/dev/null
    mv "$T/base/rootfs" "$T/rootfs"
    # a FIFO nobody writes: `read -t` on it is a sub-millisecond sleep without
    # a fork (fine_sleep, fine_poll)
    mkfifo "$T/nap.fifo"
    exec {_NAP_FD}<>"$T/nap.fifo"
}

# bundle DIR [CMD ARG...] — a bundle whose root is the shared rootfs (absolute
# path); its process runs CMD (simple words only) instead of the base's sleep.
bundle() {
    local dir=$1 args='' a
    shift
    mkdir -p "$dir"
    if (($#)); then
        for a in "$@"; do args+="${args:+, }\"$a\""; done
        sed -e "s|\"path\": \"rootfs\"|\"path\": \"$T/rootfs\"|" \
            -e "s|\"args\": \[.*\]|\"args\": [$args]|" "$T/base/config.json" >"$dir/config.json"
    else
        sed "s|\"path\": \"rootfs\"|\"path\": \"$T/rootfs\"|" "$T/base/config.json" >"$dir/config.json"
    fi
}

# fine_sleep SECONDS — sleep without forking (fractions down to ~0.1 ms).
fine_sleep() { read -r -t "$1" -u "$_NAP_FD" _ || true; }

# fine_poll SECONDS TEST... — evaluate the builtin test [[ TEST ]]-style
# command (e.g. `test -e FILE`, a builtin) every 0.2 ms until it succeeds or
# SECONDS pass (then 1). For waits that are measured: no fork per round.
fine_poll() {
    local _deadline _now
    bench_stamp _deadline
    _deadline=$((_deadline + $1 * 1000000))
    shift
    until "$@"; do
        bench_stamp _now
        ((_now < _deadline)) || return 1
        fine_sleep 0.0002
    done
}

# busy_jiffies — CPU time spent by the whole machine so far (all CPUs, not idle)
busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

# quiesce [MAX_SECONDS] — wait (default at most 20 s) until the machine is
# quiet: under 10% of one CPU busy over a 250 ms window. A runtime's teardown
# leaves work behind it (kworkers freeing network namespaces and cgroups, a
# daemon's shims still exiting) that would otherwise be charged to whatever
# runs next. Prints how long it waited and how busy the last window was.
quiesce() {
    local max=${1:-20} t0 now a b hz busy
    hz=$(getconf CLK_TCK)
    bench_stamp t0
    while :; do
        a=$(busy_jiffies)
        fine_sleep 0.25
        b=$(busy_jiffies)
        busy=$(awk -v a="$a" -v b="$b" -v hz="$hz" 'BEGIN { printf "%.0f", (b - a) * 100 / hz / 0.25 }')
        bench_stamp now
        ((busy < 10)) && break
        ((now - t0 < max * 1000000)) || { echo "quiesce: still ${busy}% busy after ${max} s; going on" >&2; return 0; }
    done
    awk -v a="$t0" -v b="$now" -v p="$busy" 'BEGIN { printf "quiesce: quiet (%d%% of a CPU) after %.1f s\n", p, (b - a) / 1e6 }' >&2
}

rt_pids() { echo "${PIDS[$1]:-}"; }

# ------------------------------------------------------------------ setup/up

rt_setup() {
    case $1 in
        berth) mkdir -p "$T/berth/state" ;;
        conmon) mkdir -p "$T/conmon/runc" "$T/conmon/exit" "$T/conmon/sock" "$T/conmon/run" ;;
        containerd) _ctd_start ;;
    esac
}

# rt_up RUNTIME ID — one running task; sets SHIM_PID and records it.
rt_up() {
    local rt=$1 id=$2
    "_${rt}_up" "$id"
    [[ $SHIM_PID =~ ^[0-9]+$ ]] && alive "$SHIM_PID" || { echo "$rt $id: no shim pid" >&2; exit 1; }
    PIDS[$rt]+=" $SHIM_PID"
    IDS[$rt]+=" $id"
}

_berth_up() {
    local id=$1 sock b=$T/berth/bundles/$1
    bundle "$b"
    sock=$("$T/bin/berth-shim" start --namespace "$NS" --id "$id" --bundle "$b" \
        --state-dir "$T/berth/state" --runtime "$RUNC")
    "$DRIVER" "$sock" create "$id" >/dev/null
    "$DRIVER" "$sock" start >/dev/null
    SHIM_PID=$(cut -d' ' -f1 "$T/berth/state/$NS/$id/shim.pid")
}

berth_sock() { echo "$T/berth/state/$NS/$1/shim.sock"; }

_conmon_up() {
    local id=$1 b=$T/conmon/bundles/$1 r=$T/conmon/run
    bundle "$b" # conmon also puts its ctl/winsz FIFOs and attach socket here
    "$T/bin/conmon" -c "$id" -u "$id" -n "$id" -r "$RUNC" \
        --runtime-arg --root --runtime-arg "$T/conmon/runc" \
        -b "$b" -p "$r/$id.pid" -P "$r/$id.conmon.pid" -l "k8s-file:$r/$id.log" \
        --exit-dir "$T/conmon/exit" --socket-dir-path "$T/conmon/sock" \
        </dev/null >>"$T/conmon/conmon.out" 2>&1
    # The conmon parent returns before runc create is done: wait for its pid file.
    poll 10 test -s "$r/$id.pid" || { echo "conmon $id: container not created" >&2; exit 1; }
    "$RUNC" --root "$T/conmon/runc" start "$id"
    SHIM_PID=$(<"$r/$id.conmon.pid")
}

ctr_() { ctr --address "$CTD_ADDR" --namespace "$NS" "$@"; }

_ctd_start() {
    local d=$T/ctd
    mkdir -p "$d/fifo" "$d/runc"
    CTD_ADDR=$d/containerd.sock
    cat >"$d/config.toml" <<EOF
version = 2
root = "$TD/ctd-root"
state = "$d/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]
[grpc]
  address = "$CTD_ADDR"
[ttrpc]
  address = "$CTD_ADDR.ttrpc"
[debug]
  level = "warn"
EOF
    # $T/bin first in PATH: containerd looks the shim binary up by name.
    PATH=$T/bin:$PATH containerd --config "$d/config.toml" </dev/null >"$d/containerd.log" 2>&1 &
    CTD_PID=$!
    if ! poll 10 ctr --address "$CTD_ADDR" version; then
        echo "containerd did not come up; $d/containerd.log:" >&2
        tail -20 "$d/containerd.log" >&2
        exit 1
    fi
}

_containerd_up() {
    local id=$1 tpid
    # --null-io: no IO to copy, like the berth shims here (shim_driver create
    # without IO). /bin/sleep, not sleep: ctr's spec with --rootfs fails the
    # PATH lookup ("exec: sleep: executable file not found in $PATH").
    ctr_ run -d --null-io --fifo-dir "$T/ctd/fifo" --runc-root "$T/ctd/runc" \
        --rootfs "$T/rootfs" "$id" /bin/sleep 100000 >/dev/null
    tpid=$(<"$T/ctd/state/io.containerd.runtime.v2.task/$NS/$id/init.pid")
    SHIM_PID=$(awk '{ print $4 }' "/proc/$tpid/stat") # the task's parent: its shim
}

# ------------------------------------------------------------------ berthd

# berthd_start — berthd on $TD/berthd-root and $T/berthd/state, socket $T/berthd/berthd.sock,
# the private shim copy $T/bin/berth-shim, log $T/berthd/berthd.log at
# BERTHD_LOG_LEVEL (default info; debug adds a line per event).
berthd_start() {
    local d=$T/berthd
    mkdir -p "$TD/berthd-root" "$d/state"
    BD_ADDR=$d/berthd.sock
    "$BUILD/berthd" --root "$TD/berthd-root" --state "$d/state" --address "$BD_ADDR" \
        --runtime "$RUNC" --shim "$T/bin/berth-shim" --log-level "${BERTHD_LOG_LEVEL:-info}" \
        </dev/null >>"$d/berthd.log" 2>&1 &
    BERTHD_PID=$!
    if ! poll 10 bctl list; then
        echo "berthd did not come up; $d/berthd.log:" >&2
        tail -20 "$d/berthd.log" >&2
        exit 1
    fi
}

bctl() { "$BUILD/berthctl" --address "$BD_ADDR" -n "$NS" "$@"; }

# berthd_stop — SIGTERM berthd (its tasks keep running: remove them first).
berthd_stop() {
    [[ -n $BERTHD_PID ]] || return 0
    kill -s TERM "$BERTHD_PID" 2>/dev/null || true
    poll 5 bash -c "! kill -0 $BERTHD_PID 2>/dev/null" || kill -s KILL "$BERTHD_PID" 2>/dev/null || true
    wait "$BERTHD_PID" 2>/dev/null || true
    BERTHD_PID=
}

# berthd_shim_pids — the pids of the shims berthd started (from their pid files)
berthd_shim_pids() {
    local f pid
    for f in "$T"/berthd/state/*/*/shim.pid; do
        [[ -f $f ]] || continue
        pid=$(<"$f")
        printf '%s\n' "${pid%% *}"
    done
}

# ------------------------------------------------------------------ stats

# stats — read numbers (one a line) on stdin; print "n median p90 min max"
# (median: mean of the two middle values for even n; p90: nearest rank), with
# BENCH_DECIMALS decimals (default 1).
stats() {
    sort -g | awk -v d="${BENCH_DECIMALS:-1}" '{ v[NR] = $1 }
        END {
            n = NR
            if (n == 0) { print "0 - - - -"; exit }
            med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            r = int(0.9 * n); if (r < 0.9 * n) r++; if (r < 1) r = 1
            f = "%." d "f"
            printf "%d " f " " f " " f " " f "\n", n, med, v[r], v[1], v[n]
        }'
}

# ------------------------------------------------------------------ teardown

# rt_down RUNTIME — stop its tasks and shims the way their manager would.
rt_down() {
    local rt=$1 id pid
    case $rt in
        berth)
            for id in ${IDS[berth]:-}; do
                local s
                s=$(berth_sock "$id")
                [[ -S $s ]] || continue
                "$DRIVER" "$s" kill 9 >/dev/null 2>&1 || true
                "$DRIVER" "$s" wait >/dev/null 2>&1 || true
                "$DRIVER" "$s" delete >/dev/null 2>&1 || true
                "$DRIVER" "$s" shutdown >/dev/null 2>&1 || true
            done ;;
        conmon)
            for id in ${IDS[conmon]:-}; do
                "$RUNC" --root "$T/conmon/runc" kill "$id" KILL >/dev/null 2>&1 || true
            done
            for pid in ${PIDS[conmon]:-}; do poll 5 bash -c "! kill -0 $pid || grep -q '^[^)]*) Z' /proc/$pid/stat" || true; done
            for id in ${IDS[conmon]:-}; do
                "$RUNC" --root "$T/conmon/runc" delete --force "$id" >/dev/null 2>&1 || true
            done ;;
        containerd)
            [[ -n $CTD_PID ]] || return 0
            for id in ${IDS[containerd]:-}; do
                ctr_ task kill -s SIGKILL "$id" >/dev/null 2>&1 || true
            done
            for id in ${IDS[containerd]:-}; do
                poll 5 bash -c "ctr --address '$CTD_ADDR' -n $NS task ls | grep -qE '^$id +[0-9]+ +STOPPED'" || true
                ctr_ task delete --force "$id" >/dev/null 2>&1 || true
                ctr_ container delete "$id" >/dev/null 2>&1 || true
            done
            kill -s TERM "$CTD_PID" 2>/dev/null || true
            poll 5 bash -c "! kill -0 $CTD_PID" || kill -s KILL "$CTD_PID" 2>/dev/null || true
            wait "$CTD_PID" 2>/dev/null || true
            CTD_PID= ;;
    esac
    # Shims that exit reparent to init, which reaps them; wait up to 5 s each.
    for pid in ${PIDS[$rt]:-}; do
        poll 5 bash -c "! kill -0 $pid 2>/dev/null || grep -q '^[^)]*) Z' /proc/$pid/stat" ||
            echo "$rt: shim $pid still running after teardown (the EXIT trap kills it)" >&2
    done
}

# ------------------------------------------------------------------ cleanup

_bench_exit_trap() {
    local rc=$?
    [[ $BASHPID == "$_BENCH_MAIN_PID" ]] || return 0
    bench_cleanup
    exit "$rc"
}

_pids_mentioning_T() {
    local p c
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [[ $p == "$$" || $p == "$BASHPID" || $p == "$_BENCH_MAIN_PID" ]] && continue
        c=$(cmdline "$p") || continue
        [[ $c == *"$T"* ]] && printf '%s\n' "$p"
    done
}

_mounts_under_T() {
    local _a _b _c _d mp _rest
    while read -r _a _b _c _d mp _rest; do
        [[ $mp == "$T" || $mp == "$T"/* ]] && printf '%d %s\n' "${#mp}" "$mp"
    done </proc/self/mountinfo | sort -rn -k1,1 | cut -d' ' -f2-
}

# The empty parent cgroups the tasks leave (runc removes only a task's own
# cgroup): ctr's /NS/ID and berth's /berth/NS/ID give /NS, /berth/NS, /berth
# in every v1 hierarchy (or the v2 root). Deepest first.
_cgroup_parents() {
    local c
    for c in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        [[ -d $c ]] || continue
        printf '%s\n' "${c}berth/$NS" "${c}$NS" "${c}berth"
    done
}

# bench_cleanup — end everything started under $T, by pid: background loops,
# shims, containerd, runc containers, any process naming $T; unmount; remove
# containerd's shim sockets (always under /run/containerd/s in 1.6) and the
# empty /run/containerd skeleton if this run created it; rm -rf $T.
bench_cleanup() {
    local -
    set +e +u
    [[ -n $T && -d $T ]] || return 0
    local pid r id f a m
    for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    if [[ -n $BERTHD_PID ]]; then
        kill -s KILL "$BERTHD_PID" 2>/dev/null
        wait "$BERTHD_PID" 2>/dev/null
    fi
    for pid in $(berthd_shim_pids); do kill_if "$pid" berth-shim; done
    for pid in ${PIDS[berth]:-}; do kill_if "$pid" berth-shim; done
    for pid in ${PIDS[conmon]:-}; do kill_if "$pid" conmon; done
    if [[ -n $CTD_PID ]]; then
        kill -s KILL "$CTD_PID" 2>/dev/null
        wait "$CTD_PID" 2>/dev/null
    fi
    for pid in ${PIDS[containerd]:-}; do kill_if "$pid" containerd-shim-runc-v2; done
    # runc containers: berth's root is STATE/runc/NS, ctr's --runc-root gets NS
    # appended; $T/runc is the bare runc floor's root
    for r in "$T"/berth/state/runc/*/ "$T"/berthd/state/runc/*/ "$T"/conmon/runc/ \
        "$T"/ctd/runc/*/ "$T"/runc/; do
        [[ -d $r ]] || continue
        while read -r id; do
            [[ -n $id ]] && "$RUNC" --root "$r" delete --force "$id" >/dev/null 2>&1
        done < <("$RUNC" --root "$r" list -q 2>/dev/null)
    done
    for _ in 1 2 3; do
        local -a left=()
        mapfile -t left < <(_pids_mentioning_T)
        ((${#left[@]})) || break
        kill -s KILL "${left[@]}" 2>/dev/null
        sleep 0.05
    done
    for f in "$T"/ctd/state/io.containerd.runtime.v2.task/*/*/address; do
        [[ -f $f ]] || continue
        a=$(<"$f")
        a=${a#unix://}
        [[ $a == /run/containerd/s/* && -S $a ]] && rm -f "$a"
    done
    if ((_RUN_CONTAINERD_EXISTED == 0)); then
        rmdir /run/containerd/runc/"$NS" /run/containerd/runc /run/containerd/s \
            /run/containerd/fifo /run/containerd 2>/dev/null
    fi
    for _ in 1 2 3 4 5; do
        local -a mounts=()
        mapfile -t mounts < <(_mounts_under_T)
        # BENCH_KEEP: $T's own tmpfs stays mounted (umount it when done)
        [[ ${BENCH_KEEP:-0} == 1 ]] && mapfile -t mounts < <(printf '%s\n' "${mounts[@]}" | grep -vxF "$T")
        ((${#mounts[@]})) || break
        for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null; done
    done
    # cgroup parents this run created, if empty (rmdir refuses otherwise)
    for m in $(_cgroup_parents); do
        [[ -d $m && -z ${_CGROUP_EXISTED[$m]:-} ]] && rmdir "$m" 2>/dev/null
    done
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        echo "kept $T and $TD" >&2
    else
        [[ $T == /tmp/berth-bench-* ]] && { rm -rf "$T" 2>/dev/null || echo "could not remove all of $T" >&2; }
        [[ $TD == /var/tmp/berth-bench-* ]] && { rm -rf "$TD" 2>/dev/null || echo "could not remove all of $TD" >&2; }
    fi
    T=
    TD=
}

# ------------------------------------------------------------------ measures

# uss PID / pss PID — KiB, from smaps_rollup (USS = Private_Clean + Private_Dirty)
uss() { awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps_rollup"; }
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }

# ctxsw PID — voluntary + nonvoluntary context switches summed over its threads
ctxsw() {
    cat /proc/"$1"/task/*/status 2>/dev/null |
        awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}

# cputicks PID — utime + stime (clock ticks) of the whole process
cputicks() {
    local s
    s=$(<"/proc/$1/stat")
    s=${s##*) }
    awk '{ print $12 + $13 }' <<<"$s"
}

nthreads() { ls "/proc/$1/task" | wc -l; }

# sum F PID... — sum of F over the pids
sum() {
    local f=$1 p t=0
    shift
    for p in "$@"; do t=$((t + $("$f" "$p"))); done
    echo "$t"
}
