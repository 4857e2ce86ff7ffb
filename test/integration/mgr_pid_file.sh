#!/usr/bin/env bash
# A runtime call that writes a pid file (runc create, runc exec --detach) is
# done once runc has renamed the file into place, not when the runtime's
# process exits (shim/pid_file_watch.h: the kernel tears down runc's address
# space before its parent hears of the exit). A --runtime wrapper that
# lingers after runc returned holds up neither a create nor an exec; its
# exit is still reaped, and a failure exit after the pid file is logged.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require jq
berth_test_init mgr-pid-file

# The wrapper: runc OP as asked; then, for create and exec, its pid to
# $T/lingering-OP and a wait (bash's own read on a FIFO nobody writes: no
# child that could outlive it) until $T/go-OP exists; it exits with the
# number in $T/status-OP if there is one, else with runc's status. With
# $T/refuse-OP it fails at once instead, no runc run, no pid file.
mkfifo "$T/linger.fifo"
cat >"$T/runc-lingering" <<END
#!/bin/bash
for op in create exec; do
    case " \$* " in *" \$op "*) [[ -e "$T/refuse-\$op" ]] && exit 1 ;; esac
done
"$(command -v "$BERTH_RUNC")" "\$@"
st=\$?
for op in create exec; do
    case " \$* " in *" \$op "*)
        echo \$\$ >"$T/lingering-\$op"
        exec 9<>"$T/linger.fifo"
        until [[ -e "$T/go-\$op" ]]; do read -r -t 0.05 -u 9 || true; done
        [[ -f "$T/status-\$op" ]] && exit "\$(<"$T/status-\$op")" ;;
    esac
done
exit \$st
END
chmod +x "$T/runc-lingering"
berth_start_daemon --runtime "$T/runc-lingering"
# reaped: no process (not even a zombie) has the pid
reaped() { [[ ! -e /proc/$1 ]]; }

echo "--- create answers while the runtime that wrote the pid file lingers"
b=$(mkbundle_sleeper s)
timeout 15 "$BERTHCTL" --address "$T/berthd.sock" create --bundle "$b" t1 >/dev/null ||
    fail "create did not answer while the runtime lingered after runc create"
# (the wrapper notes itself after runc exits, which may be after the answer)
wait_for test -s "$T/lingering-create"
cpid=$(<"$T/lingering-create")
kill -0 "$cpid" 2>/dev/null || fail "the lingering create ($cpid) is gone already"
assert_eq created "$(status_of t1)" "created while the runtime lingers"
ctl start t1 >/dev/null
assert_eq running "$(status_of t1)" "started while the runtime lingers"
term_ready t1

echo "--- an exec starts while its runtime lingers"
timeout 15 "$BERTHCTL" --address "$T/berthd.sock" exec -d --exec-id e1 t1 -- sleep 1000 ||
    fail "exec did not answer while the runtime lingered after runc exec"
wait_for test -s "$T/lingering-exec"
epid=$(<"$T/lingering-exec")
kill -0 "$epid" 2>/dev/null || fail "the lingering exec ($epid) is gone already"
assert_eq running "$(json_get "$(ctl state --exec-id e1 t1)" status)" "the exec runs"
assert_contains "$(ctl pids t1)" "$(json_get "$(ctl state --exec-id e1 t1)" pid)" "pids lists the exec"

echo "--- the runtimes' late exits are reaped; a failure after the pid file is logged"
log=$T/state/default/t1/log
echo 3 >"$T/status-create"
touch "$T/go-create" "$T/go-exec"
wait_for reaped "$cpid"
wait_for reaped "$epid"
wait_for grep -q "runc create (pid $cpid) exited 3 after its pid file was in place" "$log"
if grep -q "runc exec (pid $epid)" "$log"; then fail "runc exec's exit 0 was logged: $(grep "pid $epid" "$log")"; fi

echo "--- the task goes on as any: its exec and init exit, it is deleted"
ctl kill --exec-id e1 --signal KILL t1
assert_eq 137 "$(json_get "$(ctl wait --exec-id e1 t1)" exit_status)" "the exec's exit"
ctl kill t1
assert_eq 143 "$(json_get "$(ctl wait t1)" exit_status)" "the init's exit"
ctl delete t1 >/dev/null
expect_error not-found ctl state t1 >/dev/null

echo "--- a runtime that fails without a pid file fails the create, and leaves nothing"
touch "$T/refuse-create"
out=$(ctl create --bundle "$b" t2 2>&1) && fail "create succeeded though the runtime failed"
assert_contains "$out" "exited 1" "the error says how the runtime ended"
expect_error not-found ctl state t2 >/dev/null
rm "$T/refuse-create" "$T/status-create"
ctl create --bundle "$b" t2 >/dev/null  # the id is free again
ctl delete t2 >/dev/null

berth_leaks_check
echo "mgr-pid-file: ok"
