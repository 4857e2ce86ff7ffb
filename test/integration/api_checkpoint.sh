#!/usr/bin/env bash
# checkpoint/restore with criu. `criu check` first: where it fails, checkpoint
# (and restore) must fail with failed-precondition and criu's own words, the
# task keeps running, no /tasks/checkpointed event; then the test says which
# check failed and SKIPs (77). Where criu works: a counter loop is
# checkpointed (left running, then with --exit), restored by
# `create --checkpoint DIR`, and counts on from where it was.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
source "$HERE/api_lib.sh"
api_init api-checkpoint
b=$(mkbundle counter -- sh -c 'trap "exit 143" TERM; i=0; while :; do i=$((i+1)); echo $i >/count.tmp; mv /count.tmp /count; sleep 0.1; done')
count() { cat "$b/rootfs/count" 2>/dev/null || echo 0; }
events_start

criu_ok=1
criu_out=$(criu check 2>&1) || criu_ok=0
command -v criu >/dev/null || { criu_ok=0; criu_out="criu is not installed"; }

ctl run -d --bundle "$b" t1
counted() { (($(count) >= ${1:-1})); }
wait_for counted 3

echo "--- refusals that need no criu"
expect_error not-found ctl checkpoint --image-path "$T/img0" ghost >/dev/null
expect_error invalid-argument ctl create --checkpoint "$T/no-such-image" --bundle "$b" t9 >/dev/null
expect_error not-found ctl state t9 >/dev/null
: >"$T/a-file"
err=$(expect_error invalid-argument ctl checkpoint --image-path "$T/a-file" t1)
assert_contains "$err" "$T/a-file is not a directory" "a checkpoint into a file"

if ((!criu_ok)); then
    # which check failed: criu's "Error (file:line): why" lines
    # (less the bare "exited, status=N" of criu's helpers)
    reasons=$(grep -E 'Error \(' <<<"$criu_out" | sed -E 's/^.*Error \([^)]*\): //' |
        grep -vE '^exited, status=[0-9]+$' || true)
    [[ -n $reasons ]] || reasons=$criu_out
    first=$(head -1 <<<"$reasons")
    echo "--- criu check fails here: the command must refuse with criu's words"
    err=$(expect_error failed-precondition ctl checkpoint --image-path "$T/img" t1)
    echo "  berthctl: failed-precondition: $err"
    assert_contains "$err" "criu" "the message names criu"
    # every reason criu gave (except its bare exit lines) is in the message
    while read -r r; do
        [[ -n $r ]] || continue
        assert_contains "$err" "$r" "criu's own words"
    done <<<"$reasons"
    err=$(expect_error failed-precondition ctl checkpoint --exit --image-path "$T/img" t1)
    assert_eq running "$(status_of t1)" "the task runs on after the refused checkpoint"
    c=$(count)
    wait_for counted $((c + 2))

    echo "--- restore is refused the same way"
    mkdir -p "$T/fake-image"
    st=0
    err=$(ctl create --checkpoint "$T/fake-image" --bundle "$b" t2 2>&1) || st=$?
    if ((st == 0)); then
        # the restore itself happens at start
        err=$(expect_error failed-precondition ctl start t2)
        assert_contains "$err" "criu" "restore names criu"
        st2=$(status_of t2)
        [[ $st2 == created || $st2 == stopped ]] || fail "t2 after the refused restore: $st2"
        ctl delete t2 >/dev/null
    else
        [[ $err == "berthctl: failed-precondition: "*criu* ]] || fail "create --checkpoint: exit $st: $err"
        expect_error not-found ctl state t2 >/dev/null
    fi

    ctl kill --signal KILL t1
    ctl wait t1 >/dev/null
    ctl delete t1 >/dev/null
    wait_for has_event /tasks/delete t1
    events_stop
    ! grep -q /tasks/checkpointed "$T/events.out" || fail "a /tasks/checkpointed event for a refused checkpoint"
    berth_kill_daemon TERM
    berth_leaks_check
    echo "SKIP: criu check fails on this kernel ($(uname -r)): $first"
    echo "      (all of criu's reasons: $(tr '\n' ';' <<<"$reasons"))"
    berth_cleanup 0
    exit 77
fi

echo "--- checkpoint, leaving the task running"
ctl checkpoint --image-path "$T/img1" t1
[[ -f $T/img1/inventory.img ]] || fail "no criu image in $T/img1: $(ls "$T/img1")"
assert_eq running "$(status_of t1)" "running after a checkpoint without --exit"
wait_for has_event /tasks/checkpointed t1
c=$(count)
wait_for counted $((c + 2))

echo "--- checkpoint --exit, then restore"
ctl checkpoint --exit --image-path "$T/img2" t1
at=$(count)
echo "  checkpointed at $at"
is_stopped() { [[ $(status_of t1) == stopped ]]; }
poll_for is_stopped || fail "t1 after checkpoint --exit: $(status_of t1)"
sleep 0.3
assert_eq "$at" "$(count)" "the counter stopped with the checkpoint"
ctl delete t1 >/dev/null
ctl create --checkpoint "$T/img2" --bundle "$b" t1
[[ $(status_of t1) == running ]] || ctl start t1
assert_eq running "$(status_of t1)" "restored task runs"
wait_for counted $((at + 3))
# counting on from the checkpoint, not from 1 again
now=$(count)
((now > at)) || fail "counter $now after the restore, was $at"
grep -q '"topic":"/tasks/checkpointed"' "$T/events.out" || fail "no /tasks/checkpointed event"
ctl kill --signal KILL t1
ctl wait t1 >/dev/null
ctl delete t1 >/dev/null
events_stop
berth_kill_daemon TERM
berth_leaks_check
echo "api-checkpoint: ok"
