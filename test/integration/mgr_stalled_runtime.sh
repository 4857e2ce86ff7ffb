#!/usr/bin/env bash
# A runtime stalled in `create` of one task leaves berthd answering: list,
# state and creates of other tasks within 1 s. Once the stall ends in a
# failure, the stalled create leaves nothing behind.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require
berth_test_init mgr-stalled-runtime

runc_path=$(command -v "$BERTH_RUNC")
cat >"$T/slow-runc" <<WRAPPER
#!/usr/bin/env bash
# runc, except that \`create\` of an id starting with "stuck" sleeps 30 s
# (the sleep's pid in $T/stalled.pid; kill it to end the stall) and then fails.
is_create=0
for a in "\$@"; do [[ \$a == create ]] && is_create=1; done
id=\${!#}
if ((is_create)) && [[ \$id == stuck* ]]; then
    sleep 30 </dev/null >/dev/null 2>&1 &
    echo \$! >"$T/stalled.pid"
    wait \$!
    echo "stalled runtime gave up" >&2
    exit 1
fi
exec "$runc_path" "\$@"
WRAPPER
chmod +x "$T/slow-runc"
berth_start_daemon --runtime "$T/slow-runc"
b=$(mkbundle_sleeper)

ctl create --bundle "$b" before
ctl start before

ctl create --bundle "$b" stuck >"$T/stuck.out" 2>&1 &
stuck_pid=$!
wait_for test -s "$T/stalled.pid"

echo "--- while create of 'stuck' hangs in the runtime"
timed 1000 "the runtime was stalled" ctl list
timed 1000 "the runtime was stalled" ctl state before
timed 1000 "the runtime was stalled" ctl create --bundle "$b" other
timed 1000 "the runtime was stalled" ctl start other
timed 1000 "the runtime was stalled" ctl kill --signal KILL other
timed 1000 "the runtime was stalled" ctl wait other
timed 1000 "the runtime was stalled" ctl delete other
msg=$(expect_error not-found ctl state stuck)
msg=$(expect_error already-exists ctl create --bundle "$b" stuck)
kill -0 "$stuck_pid" || fail "the stuck create returned early: $(cat "$T/stuck.out")"

echo "--- end the stall"
kill "$(cat "$T/stalled.pid")"
st=0
wait "$stuck_pid" || st=$?
assert_eq 1 "$st" "the stalled create fails ($(cat "$T/stuck.out"))"
echo "  $(cat "$T/stuck.out")"
[[ ! -e $T/root/default/stuck && ! -e $T/state/default/stuck ]] || fail "the failed create left dirs"
expect_error not-found ctl state stuck >/dev/null
assert_eq running "$(status_of before)" "the other task runs on"

ctl kill --signal KILL before
ctl wait before >/dev/null
ctl delete before >/dev/null

echo "--- shims that delete their tasks after berthd's deletes gave up on them"
# Each shim is stopped (SIGSTOP) for longer than the delete's deadline (30 s):
# berthd's delete fails, and the shim, continued, still deletes the task and
# publishes /tasks/delete. berthd must finish each delete (shim gone, task
# unlisted, dirs removed, its id free), not keep a task listed as deleted
# that every delete answers not-found:
#   sda: continued: its /tasks/delete ends it;
#   sdb: a second delete, sent while it is stopped, is refused once it runs
#        (the first deleted it) and ends it instead, successfully;
#   sdc: continued while berthd is down: after the restart.
declare -A sdshim sdpid
for id in sda sdb sdc; do
    ctl run -d --bundle "$b" "$id"
    ctl kill --signal KILL "$id"
    ctl wait "$id" >/dev/null
    read -r sdshim[$id] _ <"$T/state/default/$id/shim.pid"
    kill -STOP "${sdshim[$id]}"
done
for id in sda sdb sdc; do
    ctl delete "$id" >"$T/$id.out" 2>&1 &
    sdpid[$id]=$!
done
for id in sda sdb sdc; do
    st=0
    wait "${sdpid[$id]}" || st=$?
    assert_eq 1 "$st" "the delete of $id's stopped shim fails at its deadline ($(cat "$T/$id.out"))"
    assert_contains "$(cat "$T/$id.out")" "unavailable" "its code"
done
not_listed() { ! ctl list --json | jq -e --arg id "$1" '.[] | select(.id == $id)' >/dev/null; }
finished() {
    local id=$1
    WAIT_FOR_TIMEOUT=10 wait_for pid_gone "${sdshim[$id]}"
    wait_for not_listed "$id"
    [[ ! -e $T/root/default/$id && ! -e $T/state/default/$id ]] || fail "the finished delete of $id left dirs"
}
kill -CONT "${sdshim[sda]}"
finished sda
ctl delete sdb >"$T/sdb2.out" 2>&1 &
sdb2=$!
sleep 0.2
kill -CONT "${sdshim[sdb]}"
st=0
wait "$sdb2" || st=$?
assert_eq 0 "$st" "the second delete of sdb ($(cat "$T/sdb2.out"))"
assert_eq 137 "$(json_get "$(cat "$T/sdb2.out")" exit_status)" "its exit status"
finished sdb
berth_kill_daemon KILL
kill -CONT "${sdshim[sdc]}"
sleep 0.5 # it deletes its task; its /tasks/delete waits for berthd
berth_start_daemon
finished sdc
events=$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since 0 || true)
for id in sda sdb sdc; do
    assert_eq 1 "$(jq -r --arg id "$id" 'select(.topic == "/tasks/delete" and .event.container_id == $id) | .topic' \
        <<<"$events" | wc -l)" "one /tasks/delete for $id"
    ctl run -d --bundle "$b" "$id" # its id is free again
    kill_and_delete "$id"
done
berth_leaks_check
echo "mgr-stalled-runtime: ok"
