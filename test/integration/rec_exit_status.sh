#!/usr/bin/env bash
# Exits while berthd is down keep their true status: a container that exits
# 42 by itself during the downtime reports exactly 42 after the restart; so
# does one whose shim is SIGKILLed after the container exited (the status then
# comes from the shim's exit file through `berth-shim delete`, not a made-up
# 137). Each exit reaches a subscriber exactly once across two restarts: the
# subscriber resubscribes with --since LAST after each restart.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
source "$HERE/rec_lib.sh"
mgr_require jq
berth_test_init rec-exit-status
WAIT_FOR_TIMEOUT=${WAIT_FOR_TIMEOUT:-15}
berth_start_daemon

# Each init exits 42 once the file /go appears in its own rootfs.
for id in e1 e2; do
    mkbundle "$id" -- sh -c 'until [ -e /go ]; do sleep 0.05; done; exit 42' >/dev/null
    ctl run -d --bundle "$T/bundles/$id" "$id"
done
e1pid=$(json_get "$(ctl state e1)" pid)
e2pid=$(json_get "$(ctl state e2)" pid)
read -r e2shim _ <"$T/state/default/e2/shim.pid"
last=$(journal_last_seq)
sub_start "$T/events.sub" "$last"
sub_sync

echo "--- SIGKILL berthd; both containers exit 42; then e2's shim is SIGKILLed"
berth_kill_daemon KILL
touch "$T/bundles/e1/rootfs/go" "$T/bundles/e2/rootfs/go"
wait_for pid_gone "$e1pid"
wait_for pid_gone "$e2pid"
# The shim writes the exit file before it tries to send the event (berthd is down).
wait_for test -s "$T/state/default/e2/exit/init"
echo "e2's exit file: $(<"$T/state/default/e2/exit/init")"
kill -KILL "$e2shim"
wait_for pid_gone "$e2shim"

berth_start_daemon
wait_for test "$(status_of e1)" = stopped
wait_for test "$(status_of e2)" = stopped
assert_eq 42 "$(json_get "$(ctl state e1)" exit_status)" "e1 exited 42 while berthd was down"
assert_eq 42 "$(json_get "$(ctl state e2)" exit_status)" "e2: the exit file's 42, not 137"
assert_eq "$e2pid" "$(json_get "$(ctl state e2)" pid)" "e2's pid from its exit file"
assert_eq 42 "$(json_get "$(ctl wait e1)" exit_status)" "wait e1"
assert_eq 42 "$(json_get "$(ctl wait e2)" exit_status)" "wait e2"
[[ ! -e $T/state/default/e2 ]] || fail "e2's state dir survived berth-shim delete"
assert_eq e1 "$(runc_list default)" "only e1's container is left (stopped, not deleted)"
sub_sync

echo "--- second restart (SIGKILL): nothing is published again"
before=$(journal_last_seq)
berth_kill_daemon KILL
berth_start_daemon
wait_for test "$(status_of e1)" = stopped
assert_eq 42 "$(json_get "$(ctl state e1)" exit_status)" "e1 after the second restart"
assert_eq 42 "$(json_get "$(ctl state e2)" exit_status)" "e2 after the second restart"
sleep 0.5
assert_eq "$before" "$(journal_last_seq)" "no new events from the second restart"

for id in e1 e2; do ctl delete "$id" >/dev/null; done
sub_sync
sub_stop
echo "--- what the subscriber saw (subscribed $(wc -l <"$T/events.sub.subs") times)"
cat "$T/events.sub"
(($(wc -l <"$T/events.sub.subs") >= 3)) || fail "the subscriber did not resubscribe after each restart"
sub_check_seqs "$T/events.sub"
assert_eq 1 "$(init_exits "$T/events.sub" e1)" "e1's exit seen once"
assert_eq 1 "$(init_exits "$T/events.sub" e2)" "e2's exit seen once"
for id in e1 e2; do
    assert_eq 42 "$(jq -r --arg id "$id" 'select(.topic == "/tasks/exit" and .event.id == $id) | .event.exit_status' "$T/events.sub")" \
        "$id's exit event says 42"
    assert_eq 1 "$(jq -c --arg id "$id" 'select(.topic == "/tasks/delete" and .event.id == $id)' "$T/events.sub" | wc -l)" \
        "$id's delete seen once"
    assert_no_trace default "$id"
done
berth_leaks_check
echo "rec-exit-status: ok"
