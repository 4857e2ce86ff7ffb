#!/usr/bin/env bash
# Chaos: WORKERS workers each loop create -> start -> exec -> kill -> wait ->
# delete over short-lived busybox containers (unique ids) for DURATION seconds,
# while berthd is SIGKILLed and restarted every 1-3 s and now and then a random
# shim is SIGKILLed. A subscriber (berthctl events --since LAST, re-run after
# each restart) records every event. At the end: every task created is deleted
# (or still listed, stopped, if a worker gave up on it: counted as a failure);
# every init exit a worker's wait saw was published exactly once, with that
# status; no init exit twice in one life of an id (a create rolled back by a
# restart is a life of its own, ended by its own exit and delete); seqs strictly increase; zero leaked shim
# processes, runc containers, mounts, FIFOs or state dirs.
#
# Env: WORKERS (default 4), DURATION (seconds of chaos, default 32),
# KILL_SHIM_EVERY (on average one shim kill per this many berthd restarts,
# default 2). bench/chaos runs it larger.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
source "$HERE/rec_lib.sh"
mgr_require jq
WORKERS=${WORKERS:-4}
DURATION=${DURATION:-32}
KILL_SHIM_EVERY=${KILL_SHIM_EVERY:-2}
berth_test_init rec-chaos
WAIT_FOR_TIMEOUT=${WAIT_FOR_TIMEOUT:-30}
berth_start_daemon
B=$(mkbundle quick -- sh -c 'trap "exit 143" TERM; sleep 2 & wait')
mkdir -p "$T/chaos"
sub_start "$T/events.sub" 0

# ctl_try "OK CODES" "RETRY CODES" ARGS... — berthctl ARGS; 0 if it worked
# or failed with an OK code ("*": any but the retry codes); retries the RETRY
# codes (berthd down or reloading) for up to 60 s. Sets OUT and ERR.
ctl_try() {
    local ok=$1 retry=$2 st err code deadline=$(($(now_ms) + 60000))
    shift 2
    while :; do
        st=0
        OUT=$("$BERTHCTL" --address "$T/berthd.sock" "$@" 2>"$WT/err") || st=$?
        ((st == 0)) && return 0
        err=$(<"$WT/err")
        code=${err#berthctl: }
        code=${code%%:*}
        if [[ " $retry " == *" $code "* ]] && (($(now_ms) < deadline)); then
            RETRIES=$((RETRIES + 1))
            sleep 0.1
            continue
        fi
        [[ $ok == "*" || " $ok " == *" $code "* ]] && return 0
        ERR="$* -> $err"
        return 1
    done
}

worker() {
    set +e
    local w=$1 n=0 id exit
    WT=$T/chaos/w$w
    mkdir -p "$WT"
    RETRIES=0
    while [[ ! -e $T/chaos/stop ]]; do
        n=$((n + 1))
        id=w$w-$n
        echo "$id" >>"$WT/created"
        if ! ctl_try "already-exists" "unavailable" create --bundle "$B" "$id"; then
            echo "$id FAIL $ERR" >>"$WT/result"; continue
        fi
        # failed-precondition: already started before berthd died, or its shim was killed
        ctl_try "failed-precondition" "unavailable" start "$id" || { echo "$id FAIL $ERR" >>"$WT/result"; continue; }
        ctl_try "*" "unavailable" exec -d --exec-id x "$id" sleep 1 || true
        ctl_try "*" "unavailable" kill "$id" || true
        if ! ctl_try "" "unavailable" wait "$id"; then
            echo "$id FAIL $ERR" >>"$WT/result"; continue
        fi
        exit=$(json_get "$OUT" exit_status)
        if ! ctl_try "not-found" "unavailable failed-precondition" delete "$id"; then
            echo "$id FAIL $ERR" >>"$WT/result"; continue
        fi
        if ctl_try "" "unavailable" state "$id"; then
            echo "$id FAIL still there after delete: $OUT" >>"$WT/result"; continue
        fi
        echo "$id exit=$exit" >>"$WT/result"
    done
    echo "$RETRIES" >"$WT/retries"
}

pids=()
for ((k = 1; k <= WORKERS; k++)); do
    worker "$k" &
    pids+=($!)
    berth_bg "$!"
done

# a shim of this test, chosen at random, that really is a berth-shim
random_shim() {
    local -a files
    mapfile -t files < <(compgen -G "$T/state/default/*/shim.pid" || true)
    ((${#files[@]})) || return 1
    local f=${files[RANDOM % ${#files[@]}]} pid c
    read -r pid _ <"$f" 2>/dev/null || return 1
    c=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
    [[ $c == *berth-shim*"$T"* ]] || return 1
    echo "$pid"
}

restarts=0 shimkills=0
end=$(($(now_ms) + DURATION * 1000))
while (($(now_ms) < end)); do
    sleep "$((1 + RANDOM % 2)).$((RANDOM % 10))"
    if ((RANDOM % KILL_SHIM_EVERY == 0)) && pid=$(random_shim); then
        kill -KILL "$pid" 2>/dev/null && shimkills=$((shimkills + 1))
    fi
    berth_kill_daemon KILL
    sleep "0.$((RANDOM % 3))"
    berth_start_daemon
    restarts=$((restarts + 1))
done
echo "chaos over after $restarts restarts and $shimkills shim kills; letting the workers finish"
touch "$T/chaos/stop"
for p in "${pids[@]}"; do wait "$p"; done
sub_sync
sub_stop

# ---------------------------------------------------------------- checks
cat "$T"/chaos/w*/created >"$T/created"
cat "$T"/chaos/w*/result >"$T/results"
created=$(wc -l <"$T/created")
ok=$(grep -c ' exit=' "$T/results" || true)
failed=$(grep -c ' FAIL ' "$T/results" || true)
retries=$(cat "$T"/chaos/w*/retries | awk '{ s += $1 } END { print s + 0 }')
grep ' FAIL ' "$T/results" | head -20 >&2 || true

# Every task created is deleted, or still listed and stopped (a failed lifecycle).
listed=$(ctl list --json)
leftover=$(jq -r '.[].id' <<<"$listed" | wc -l)
bad_state=$(jq -r '.[] | select(.status != "stopped") | .id' <<<"$listed")

# Exits: by task id from the subscriber's stream, one life of the id per
# /tasks/create (a create berthd died in is rolled back with its own exit and
# delete, and the worker's retry is a new life): "ID LIFE STATUS SEQ".
jq -r 'select(.topic == "/tasks/create" or (.topic == "/tasks/exit" and .event.id == .event.container_id))
       | "\(.topic) \(.event.container_id) \(.event.exit_status) \(.seq)"' "$T/events.sub" |
    awk '$1 == "/tasks/create" { life[$2]++; next } { print $2, life[$2] + 0, $3, $4 }' >"$T/exits"
dup_exits=$(awk '{ n[$1 " " $2]++ } END { for (i in n) if (n[i] > 1) print i " x" n[i] }' "$T/exits")
# Lives do not overlap: a create of an id comes only after its last life's
# delete (else a second /tasks/create would pass for a new life).
overlaps=$(jq -r 'select(.topic == "/tasks/create" or (.topic == "/tasks/delete" and .event.id == .event.container_id))
       | "\(.topic) \(.event.container_id)"' "$T/events.sub" |
    awk '$1 == "/tasks/create" { if (open[$2]) print $2; open[$2] = 1; next } { open[$2] = 0 }' | sort -u | tr '\n' ' ')
missing=0 wrong=0
while read -r id st; do
    st=${st#exit=}
    # the worker waited on the id's last life
    got=$(awk -v id="$id" '$1 == id { s = $3 } END { print s }' "$T/exits")
    if [[ -z $got ]]; then
        missing=$((missing + 1)); echo "no /tasks/exit for $id (wait said $st)" >&2
    elif [[ $got != "$st" ]]; then
        wrong=$((wrong + 1)); echo "$id: /tasks/exit says $got, wait said $st" >&2
    fi
done < <(grep ' exit=' "$T/results")
sub_check_seqs "$T/events.sub"

# Leaks (berthd still runs; the workers deleted everything).
leak_shims=$( (shim_pids || true) | wc -l)
leak_runc=$( (runc_list default || true) | wc -l)
leak_mounts=$( (_berth_mounts_under_T || true) | wc -l)
leak_fifos=$( (find "$T" -type p 2>/dev/null || true) | wc -l)
leak_dirs=$( (ls -A "$T/state/default" "$T/root/default" 2>/dev/null || true) | grep -cv '^$\|:$' || true)
leak_procs=$( (_berth_pids_mentioning_T || true) | (grep -vx "$BERTH_DAEMON_PID" || true) | wc -l)
leaks=$((leak_shims + leak_runc + leak_mounts + leak_fifos + leak_dirs + leak_procs))
echo "rec-chaos: workers=$WORKERS duration=${DURATION}s lifecycles=$ok (created $created, failed $failed)" \
    "restarts=$restarts shim_kills=$shimkills client_retries=$retries" \
    "events=$(wc -l <"$T/events.sub") subscribe_attempts=$(wc -l <"$T/events.sub.subs") init_exits=$(wc -l <"$T/exits")" \
    "leaks=$leaks (shims $leak_shims, runc $leak_runc, mounts $leak_mounts, fifos $leak_fifos, dirs $leak_dirs, procs $leak_procs)"
[[ -z $dup_exits ]] || fail "init exits published more than once: $dup_exits"
[[ -z $overlaps ]] || fail "a /tasks/create before the last life's /tasks/delete: $overlaps"
((missing == 0 && wrong == 0)) || fail "$missing exits never published, $wrong with the wrong status"
((failed == 0)) || fail "$failed lifecycles failed"
((leftover == 0)) || fail "tasks left: $listed"
[[ -z $bad_state ]] || fail "tasks left that are not stopped: $bad_state"
((leaks == 0)) || fail "leaks: $leaks"
((ok > 0 && restarts > 0)) || fail "no chaos happened"
berth_leaks_check
echo "rec-chaos: ok"
