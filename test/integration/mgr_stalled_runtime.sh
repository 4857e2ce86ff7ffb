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

echo "--- a shim that deletes its task after berthd's delete gave up on it"
# The shim is stopped (SIGSTOP) for longer than the delete's deadline (30 s):
# berthd's delete fails, and the shim, continued, still deletes the task and
# publishes /tasks/delete. berthd must finish the delete then (shim gone,
# task unlisted, its id free), not keep a task listed as deleted that every
# delete answers not-found.
ctl run -d --bundle "$b" slowdel
ctl kill --signal KILL slowdel
ctl wait slowdel >/dev/null
read -r sdshim _ <"$T/state/default/slowdel/shim.pid"
kill -STOP "$sdshim"
st=0
ctl delete slowdel >"$T/slowdel.out" 2>&1 || st=$?
kill -CONT "$sdshim"
assert_eq 1 "$st" "the delete of a stopped shim fails at its deadline ($(cat "$T/slowdel.out"))"
assert_contains "$(cat "$T/slowdel.out")" "unavailable" "its code"
WAIT_FOR_TIMEOUT=10 wait_for pid_gone "$sdshim"
not_listed() { ! ctl list --json | jq -e '.[] | select(.id == "slowdel")' >/dev/null; }
wait_for not_listed
[[ ! -e $T/root/default/slowdel && ! -e $T/state/default/slowdel ]] || fail "the finished delete left dirs"
assert_eq "1" "$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since 0 |
    jq -r 'select(.topic == "/tasks/delete" and .event.container_id == "slowdel") | .topic' | wc -l || true)" \
    "one /tasks/delete for slowdel"
ctl run -d --bundle "$b" slowdel # its id is free again
ctl kill --signal KILL slowdel
ctl wait slowdel >/dev/null
ctl delete slowdel >/dev/null
berth_leaks_check
echo "mgr-stalled-runtime: ok"
