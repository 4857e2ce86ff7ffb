#!/usr/bin/env bash
# Self-test of test/integration/lib.sh and tools/mkbundle, without berthd:
# bundles run under runc directly; a fake berthd/berthctl exercise the daemon
# helpers; an inner test leaves a container, a "shim", a daemon and mounts
# behind and the EXIT trap (berth_cleanup) must remove them all.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

if ((EUID != 0)); then echo "SKIP: needs root (runc)"; exit 77; fi
command -v "$BERTH_RUNC" >/dev/null || { echo "SKIP: no runc"; exit 77; }
[[ -x /bin/busybox ]] || { echo "SKIP: no busybox-static"; exit 77; }

berth_test_init lib-selftest
step() { echo "--- $*"; }

# ------------------------------------------------------------ assertions
step assertions
assert_eq a a "assert_eq"
assert_contains "hello world" "lo wo" "assert_contains"
(assert_eq a b "must fail" 2>/dev/null) && fail "assert_eq a b passed"
(assert_contains abc x "must fail" 2>/dev/null) && fail "assert_contains abc x passed"
(fail "boom" 2>/dev/null) && fail "fail returned 0"
[[ -d $T ]] || fail "a subshell's exit removed \$T"
touch "$T/flag"
wait_for test -e "$T/flag"
(WAIT_FOR_TIMEOUT=0 wait_for test -e "$T/nope" 2>/dev/null) && fail "wait_for did not time out"
(rm -f "$T/flag2"; sleep 0.2; touch "$T/flag2") &
wait_for test -e "$T/flag2"
wait

# ------------------------------------------------------------ json_get
step json_get
j='{"id":"t1","pid":1234,"status":"running","exit_status":0,"terminal":false,"exited_at":"2024-01-02T03:04:05.123456789Z","arr":[1,{"pid":9}],"event":{"container_id":"c1","pid":77}}'
assert_eq t1 "$(json_get "$j" id)" "string"
assert_eq 1234 "$(json_get "$j" pid)" "number"
assert_eq 0 "$(json_get "$j" exit_status)" "zero"
assert_eq false "$(json_get "$j" terminal)" "boolean"
assert_eq 2024-01-02T03:04:05.123456789Z "$(json_get "$j" exited_at)" "time"
assert_eq c1 "$(json_get "$j" event.container_id)" "dotted path"
assert_eq 77 "$(json_get "$(json_get "$j" event)" pid)" "nested object"
assert_eq '[1,{"pid":9}]' "$(json_get "$j" arr)" "array"
json_get "$j" nope >/dev/null && fail "json_get of a missing key succeeded"
assert_eq 5 "$(json_get '{ "a" : "x, y}" , "b" : 5 }' b)" "spaces and tricky strings"

# ------------------------------------------------------------ mkbundle
step mkbundle
start=${EPOCHREALTIME/./}
b=$(mkbundle hi -- sh -c 'echo hi; exit 7')
took=$(((${EPOCHREALTIME/./} - start) / 1000))
echo "mkbundle took ${took} ms"
assert_eq "$T/bundles/hi" "$b" "mkbundle prints the bundle dir"
[[ -f $b/config.json && -x $b/rootfs/bin/busybox && -x $b/rootfs/bin/sh ]] || fail "bundle incomplete"
for d in etc/passwd etc/group; do [[ -f $b/rootfs/$d ]] || fail "no /$d"; done
for d in tmp proc dev sys root; do [[ -d $b/rootfs/$d ]] || fail "no /$d"; done
n_applets=$(/bin/busybox --list | wc -l)
n_bin=$(find "$b/rootfs/bin" -mindepth 1 -maxdepth 1 | wc -l)
assert_eq "$n_applets" "$n_bin" "every applet linked in /bin"
cfg=$(tr -d '\n\t' <"$b/config.json")
assert_eq false "$(json_get "$cfg" process.terminal)" "terminal"
assert_eq / "$(json_get "$cfg" process.cwd)" "cwd"
assert_eq '["sh", "-c", "echo hi; exit 7"]' "$(json_get "$cfg" process.args)" "args"
assert_eq false "$(json_get "$cfg" root.readonly)" "root.readonly"
assert_eq berth "$(json_get "$cfg" hostname)" "hostname"
json_get "$cfg" linux.resources.memory >/dev/null && fail "memory limit without --memory"
assert_contains "$cfg" '"PATH=/bin:/usr/bin:/sbin:/usr/sbin"' "PATH"

bm=$(mkbundle mem --memory 33554432 --tty -- sleep 1)
cfg=$(tr -d '\n\t' <"$bm/config.json")
assert_eq 33554432 "$(json_get "$cfg" linux.resources.memory.limit)" "--memory"
assert_eq true "$(json_get "$cfg" process.terminal)" "--tty"
bd=$(mkbundle default)
assert_eq '["sh"]' "$(json_get "$(tr -d '\n\t' <"$bd/config.json")" process.args)" "default CMD"

step "runc runs the bundle"
id=sel-${T##*.}
st=0
out=$("$BERTH_RUNC" --root "$T/state/runc/default" run --bundle "$b" "$id-hi" </dev/null 2>"$T/runc.err") || st=$?
assert_eq 7 "$st" "exit status through runc (stderr: $(cat "$T/runc.err"))"
assert_eq hi "$out" "output through runc"
bt=$(mkbundle true -- true)
"$BERTH_RUNC" --root "$T/state/runc/default" run --bundle "$bt" "$id-true" </dev/null >/dev/null ||
    fail "runc run of '-- true' failed"

# ------------------------------------------------------------ cleanup
step "inner test: leave things behind, then exit 3"
fake=$T/fakebuild
mkdir -p "$fake"
cat >"$fake/berthd" <<'EOF'
#!/usr/bin/env bash
# fake berthd: "listen" by creating the socket path, then idle
addr=
while (($#)); do [[ $1 == --address ]] && addr=$2; shift; done
trap 'rm -f "$addr"; exit 0' TERM
touch "$addr"
while :; do sleep 1; done
EOF
cat >"$fake/berthctl" <<'EOF'
#!/usr/bin/env bash
# fake berthctl: `--address A list` succeeds while A exists
[[ $1 == --address && $3 == list && -e $2 ]]
EOF
chmod +x "$fake/berthd" "$fake/berthctl"

# A decoy whose pid sits in a shim.pid but is no berth-shim: must survive.
sleep 300 </dev/null >/dev/null 2>&1 &
decoy=$!
berth_bg "$decoy"  # (ended by the outer cleanup if a check below fails)

st=0
inner=$(BERTH_BUILD=$fake DECOY=$decoy RUNC_ID=$id-sleep SLEEPB=$bd bash -c '
    set -euo pipefail
    source "$0"
    berth_test_init inner
    berth_start_daemon
    ctl list || fail "fake ctl list"
    d1=$BERTH_DAEMON_PID
    berth_kill_daemon TERM
    assert_eq 0 "$BERTH_DAEMON_STATUS" "fake berthd exits 0 on TERM"
    kill -0 "$d1" 2>/dev/null && fail "daemon still alive after berth_kill_daemon"
    berth_start_daemon
    # a runc container in the namespace state dir
    b=$(mkbundle sleeper -- sleep 300)
    "$BERTH_RUNC" --root "$T/state/runc/default" run -d --bundle "$b" "$RUNC_ID" </dev/null >/dev/null 2>&1
    cpid=$(json_get "$("$BERTH_RUNC" --root "$T/state/runc/default" state "$RUNC_ID" | tr -d "\n\t")" pid)
    # a "shim" and the decoy, by pid file
    mkdir -p "$T/state/default/c1" "$T/state/default/c2"
    setsid bash -c "exec -a \"berth-shim --state $T/state\" sleep 300" </dev/null >/dev/null 2>&1 &
    shim=$!
    echo "$shim" >"$T/state/default/c1/shim.pid"
    echo "$DECOY" >"$T/state/default/c2/shim.pid"
    # nested mounts
    mkdir -p "$T/root/m"
    mount -t tmpfs tmpfs "$T/root/m"
    mkdir -p "$T/root/m/n"
    mount -t tmpfs tmpfs "$T/root/m/n"
    mount -t tmpfs tmpfs "$T/root/m/n"
    # the leak check sees them all
    leaks=$( (BERTH_LEAK_GRACE=0 berth_leaks_check) 2>&1 ) && fail "leak check passed"
    for w in "process $shim" "mount $T/root/m/n" "runc container"; do
        assert_contains "$leaks" "$w" "leak report"
    done
    echo "$T $BERTH_DAEMON_PID $shim $cpid"
    exit 3
' "$HERE/lib.sh" 2>"$T/inner.err") || st=$?
if [[ $st != 3 ]]; then
    cat "$T/inner.err" >&2
    fail "inner test exited $st, wanted its own 3"
fi
read -r iT idaemon ishim icpid <<<"$inner"
echo "inner: T=$iT daemon=$idaemon shim=$ishim container=$icpid"
[[ $iT == /tmp/berth-test.* ]] || fail "inner printed '$inner'"
assert_contains "$(cat "$T/inner.err")" "test failed (status 3)" "logs shown on failure"
[[ ! -e $iT ]] || fail "berth_cleanup left $iT"
for p in "$idaemon" "$ishim" "$icpid"; do
    [[ $p =~ ^[0-9]+$ ]] || fail "bad pid '$p'"
    poll_for bash -c "! kill -0 $p" || fail "pid $p survived berth_cleanup"
done
grep -q " $iT" /proc/self/mountinfo && fail "mounts under $iT survived"
[[ -e /sys/fs/cgroup/memory/$id-sleep ]] && fail "container cgroup survived"
kill -0 "$decoy" 2>/dev/null || fail "berth_cleanup killed a non-shim pid from a shim.pid"
kill "$decoy"
wait "$decoy" 2>/dev/null || true

step "leak check of this test"
berth_leaks_check
echo "lib-selftest: ok"
