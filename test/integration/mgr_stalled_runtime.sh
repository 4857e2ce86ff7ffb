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
berth_leaks_check
echo "mgr-stalled-runtime: ok"
