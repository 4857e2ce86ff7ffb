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
wait_for status_is e1 stopped
wait_for status_is e2 stopped
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
wait_for status_is e1 stopped
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

echo "--- a shim that dies during a delete: the task is a lost shim's, stopped and deletable"
# runc, except that its `delete` (a created task's delete runs runc delete
# --force) first SIGKILLs its caller, the serving shim (not berthd's
# `berth-shim delete` after it: killed, that one's runc delete raced the check
# below for the runc container)
cat >"$T/runc-kills-shim" <<END
#!/bin/sh
case " \$* " in *" delete "*)
    case " \$(tr '\\0' ' ' </proc/\$PPID/cmdline) " in *" start "*) kill -KILL \$PPID ;; esac ;;
esac
exec "$(command -v "$BERTH_RUNC")" "\$@"
END
chmod +x "$T/runc-kills-shim"
berth_kill_daemon TERM
berth_start_daemon --runtime "$T/runc-kills-shim"
mkbundle d1 -- sleep 1000 >/dev/null
ctl create --bundle "$T/bundles/d1" d1
read -r d1shim _ <"$T/state/default/d1/shim.pid"
err=$(expect_error unavailable ctl delete d1)
assert_contains "$err" "shim for default/d1 went away during delete" "the error names the task and the call"
wait_for pid_gone "$d1shim"
wait_for status_is d1 stopped
assert_eq 137 "$(json_get "$(ctl state d1)" exit_status)" "d1, its shim and init killed"
ctl delete d1 >/dev/null
expect_error not-found ctl state d1 >/dev/null
assert_no_trace default d1
# (from the journal: what berthd published, in order)
journal_of() { jq -c --arg id "$1" 'select(.task_id == $id)' "$T/root/events.log"; }
topics=$(journal_of d1 | jq -r .topic | tr '\n' ' ')
assert_eq "/tasks/create /tasks/exit /tasks/delete " "$topics" "d1's events"

echo "--- berthd dies before it sends a created task's delete, and its shim dies too"
# (the shim would have sent the init's exit, the delete killing it): the
# delete finished at the restart publishes that exit before the delete
berth_kill_daemon TERM
BERTH_CRASH_AT=before-shim-delete berth_start_daemon
mkbundle d2 -- sleep 1000 >/dev/null
ctl create --bundle "$T/bundles/d2" d2
read -r d2shim _ <"$T/state/default/d2/shim.pid"
d2pid=$(json_get "$(ctl state d2)" pid)
ctl delete d2 >/dev/null 2>&1 && fail "berthd did not crash before the shim's delete"
berth_kill_daemon KILL
kill -KILL "$d2shim"
wait_for pid_gone "$d2shim"
berth_start_daemon
wait_for bash -c "! test -e '$T/root/default/d2'"
expect_error not-found ctl state d2 >/dev/null
assert_no_trace default d2
ev=$(journal_of d2)
assert_eq "/tasks/create /tasks/exit /tasks/delete " "$(jq -r .topic <<<"$ev" | tr '\n' ' ')" "d2's events"
assert_eq "$d2pid 137" "$(jq -r 'select(.topic == "/tasks/exit") | "\(.event.pid) \(.event.exit_status)"' <<<"$ev")" "d2's exit"

echo "--- a wait across its shim's death answers the exit"
# (The wait's own call saw the loss before the connection's notice did,
# and answered unavailable: the task still looked connected.)
berth_kill_daemon KILL
berth_start_daemon
mkbundle w1 -- sleep 1000 >/dev/null
ctl run -d --bundle "$T/bundles/w1" w1
read -r w1shim _ <"$T/state/default/w1/shim.pid"
"$BERTHCTL" --address "$T/berthd.sock" wait w1 >"$T/w1.wait" 2>&1 &
waiter=$!
sleep 0.3 # (the wait is in)
kill -KILL "$w1shim"
assert_waited "$waiter" "$T/w1.wait" 137 "the wait across its shim's death"
ctl delete w1 >/dev/null

echo "--- an exit file that cannot be read: the lost shim's clean-up still ends"
# \`berth-shim delete\` threw at the read, before it unmounted and removed the
# state dir; a mangled one's words went into its JSON as they were.
# (a bind mount on each rootfs: the clean-up's unmount is what was skipped)
mkdir -p "$T/shared"
for id in x1 x2; do
    mkbundle "$id" -- sh -c 'until [ -e /go ]; do sleep 0.05; done; exit 42' >/dev/null
    ctl create --bundle "$T/bundles/$id" --mount "type=bind,source=$T/shared,target=tmp,options=rbind" "$id"
    ctl start "$id"
done
berth_kill_daemon KILL
for id in x1 x2; do
    read -r shim _ <"$T/state/default/$id/shim.pid"
    pid=$(cat "$T/state/default/$id/init.pid")
    touch "$T/bundles/$id/rootfs/go"
    poll_for pid_gone "$pid" || fail "$id did not exit"
    wait_for test -s "$T/state/default/$id/exit/init"
    kill -KILL "$shim"
    poll_for pid_gone "$shim"
done
rm "$T/state/default/x1/exit/init"
mkdir "$T/state/default/x1/exit/init"
echo "42 oops" >"$T/state/default/x2/exit/init"
berth_start_daemon
for id in x1 x2; do
    wait_for status_is "$id" stopped
    assert_eq 137 "$(json_get "$(ctl state "$id")" exit_status)" "$id: its exit file unreadable, the exit is unknown"
    ctl delete "$id" >/dev/null
    assert_no_trace default "$id"
done
berth_leaks_check
echo "rec-exit-status: ok"
