# shellcheck shell=bash
# Helpers of the crash-recovery tests (rec_*.sh); sourced after lib.sh and mgr_lib.sh.

# seq_of LINE — the berthd seq of one `berthctl events` line (printed first).
seq_of() {
    local s=${1#'{"seq":'}
    s=${s%%,*}
    [[ $s =~ ^[0-9]+$ ]] && echo "$s"
}

# journal_last_seq — berthd's newest seq, from its journal (0 if none).
journal_last_seq() {
    local s
    s=$(tail -n 1 "$T/root/events.log" 2>/dev/null | jq -r .seq 2>/dev/null) || s=
    [[ $s =~ ^[0-9]+$ ]] && echo "$s" || echo 0
}

# sub_start FILE SINCE — a subscriber that survives berthd restarts: runs
# `berthctl events --since S` appending to FILE and, whenever that ends
# (berthd went away), resubscribes with --since the last seq in FILE. Counts
# its (re)subscriptions in FILE.subs. Sets SUB_PID.
sub_start() {
    SUB_FILE=$1
    local since=$2
    : >"$SUB_FILE"
    : >"$SUB_FILE.subs"
    echo "$since" >"$SUB_FILE.since"
    (
        c=
        trap '[[ -n $c ]] && kill "$c" 2>/dev/null; exit 0' TERM
        while [[ -d $T ]]; do
            last=$(tail -n 1 "$SUB_FILE")
            last=$(seq_of "$last") || last=$since
            echo "$last" >>"$SUB_FILE.subs"
            "$BERTHCTL" --address "$T/berthd.sock" events --since "$last" >>"$SUB_FILE" 2>>"$SUB_FILE.err" &
            c=$!
            wait "$c" || true
            c=
            sleep 0.05
        done
    ) &
    SUB_PID=$!
    berth_bg "$SUB_PID"
}

# sub_last — the newest seq the subscriber has (its start seq before any).
sub_last() {
    local l
    l=$(tail -n 1 "$SUB_FILE")
    seq_of "$l" || cat "$SUB_FILE.since"
}

# sub_sync — wait until the subscriber has every event berthd journaled.
sub_sync() {
    local want
    want=$(journal_last_seq)
    local deadline=$(($(now_ms) + ${WAIT_FOR_TIMEOUT:-10} * 1000))
    until [[ $(sub_last) == "$want" ]]; do
        (($(now_ms) < deadline)) || fail "the subscriber has seq $(sub_last), berthd $want"
        sleep 0.02
    done
}

sub_stop() {
    [[ -n ${SUB_PID:-} ]] || return 0
    kill -TERM "$SUB_PID" 2>/dev/null || true
    wait "$SUB_PID" 2>/dev/null || true
    SUB_PID=
}

# sub_check_seqs FILE — the seqs in FILE strictly increase (nothing replayed twice).
sub_check_seqs() {
    local prev=0 s line
    while read -r line; do
        s=$(seq_of "$line") || fail "not an event line: $line"
        ((s > prev)) || fail "subscriber got seq $s after $prev"
        prev=$s
    done <"$1"
}

# init_exits FILE ID — how many /tasks/exit of ID's init are in FILE.
init_exits() {
    jq -c --arg id "$2" 'select(.topic == "/tasks/exit" and .event.container_id == $id and .event.id == $id)' "$1" | wc -l
}

# state_dir_gone NS ID — no state dir, no record dir, no runc container left.
assert_no_trace() {
    local ns=$1 id=$2
    [[ ! -e $T/state/$ns/$id ]] || fail "$ns/$id: state dir left: $(ls -la "$T/state/$ns/$id")"
    [[ ! -e $T/root/$ns/$id ]] || fail "$ns/$id: record dir left: $(ls -la "$T/root/$ns/$id")"
    ! runc_list "$ns" | grep -qx "$id" || fail "$ns/$id: runc container left"
}
