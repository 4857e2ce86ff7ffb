#!/usr/bin/env bash
# 50 concurrent creates of distinct ids all succeed; 10 concurrent creates of
# one id: exactly one succeeds, the others get already-exists.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require
berth_test_init mgr-concurrent-create
berth_start_daemon
b=$(mkbundle_sleeper)
mkdir -p "$T/out"

echo "--- 50 distinct ids"
start=$(now_ms)
jobs_=()
for i in $(seq 1 50); do
    (st=0; ctl create --bundle "$b" "c$i" >"$T/out/c$i" 2>&1 || st=$?; echo "$st" >"$T/out/c$i.rc") &
    jobs_+=($!)
done
wait "${jobs_[@]}"  # not a bare wait: berthd is a background job of ours too
echo "50 creates took $(($(now_ms) - start)) ms"
for i in $(seq 1 50); do
    assert_eq 0 "$(cat "$T/out/c$i.rc")" "create c$i ($(cat "$T/out/c$i"))"
done
assert_eq 50 "$(ctl list --json | grep -o '"status":"created"' | wc -l)" "50 created tasks listed"
assert_eq 50 "$(runc_list default | wc -l)" "50 runc containers"

echo "--- 10 creates of one id"
jobs_=()
for i in $(seq 1 10); do
    (st=0; ctl create --bundle "$b" same >"$T/out/s$i" 2>&1 || st=$?; echo "$st" >"$T/out/s$i.rc") &
    jobs_+=($!)
done
wait "${jobs_[@]}"
ok=0 exists=0
for i in $(seq 1 10); do
    rc=$(cat "$T/out/s$i.rc")
    if [[ $rc == 0 ]]; then
        ok=$((ok + 1))
    else
        assert_contains "$(cat "$T/out/s$i")" "berthctl: already-exists: task already exists" "loser $i"
        exists=$((exists + 1))
    fi
done
assert_eq 1 "$ok" "exactly one create of 'same' succeeded"
assert_eq 9 "$exists" "nine got already-exists"
assert_eq created "$(status_of same)" "the winner is created"

echo "--- delete them all, concurrently"
jobs_=()
for id in same $(seq -f 'c%g' 1 50); do
    (ctl delete "$id" >/dev/null 2>"$T/out/del-$id" || echo fail >>"$T/out/del-$id") &
    jobs_+=($!)
done
wait "${jobs_[@]}"
for id in same $(seq -f 'c%g' 1 50); do
    [[ ! -s $T/out/del-$id ]] || fail "delete $id: $(cat "$T/out/del-$id")"
done
assert_eq "[]" "$(ctl list --json | tr -d ' \n')" "nothing listed"
berth_leaks_check
echo "mgr-concurrent-create: ok"
