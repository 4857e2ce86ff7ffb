#!/usr/bin/env bash
# berthd hands each shim it starts one sealed memfd copy of the runtime
# (common/sealed_copy.h), and runc runs from it: a created task's `runc init`
# has the copy as its /proc/PID/exe, not a clone of runc's own. Once the file
# at the runtime's path changes, the shims started before run it from the
# path, and berthd copies the new file for the shims started after; a runtime
# that is not an ELF executable (a wrapper script) runs from its path.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
berth_test_init mgr-runtime-copy

real_runc=$(command -v "$BERTH_RUNC") || fail "no runc at $BERTH_RUNC"
mkdir -p "$T/bin"
# put_runtime FILE — replace $T/bin/runc by FILE as a package upgrade does (a rename)
put_runtime() { cp "$1" "$T/bin/runc.new" && chmod +x "$T/bin/runc.new" && mv -f "$T/bin/runc.new" "$T/bin/runc"; }
put_runtime "$real_runc"
berth_start_daemon --runtime "$T/bin/runc"

# init_exe ID — what a created task's init (runc init, waiting for its start) runs
init_exe() { readlink "/proc/$(json_get "$(ctl state "$1")" pid)/exe"; }
init_exe_inode() { stat -L -c %i "/proc/$(json_get "$(ctl state "$1")" pid)/exe"; }
COPY="/memfd:runc (deleted)"

echo "--- created tasks' runc init runs from berthd's one copy"
b=$(mkbundle_sleeper sleeper)
ctl create --bundle "$b" a
ctl create --bundle "$b" b
assert_eq "$COPY" "$(init_exe a)" "a's runc init runs from the copy"
assert_eq "$(init_exe_inode a)" "$(init_exe_inode b)" "a and b run the same copy"
read -r shim_a _ <"$T/state/default/a/shim.pid"
ls -l "/proc/$shim_a/fd" | grep -qF "$COPY" || fail "a's shim does not hold the copy"
ctl start a
assert_eq running "$(status_of a)" "a runs"

echo "--- the runtime is replaced by a wrapper script: every shim runs it from its path"
cat >"$T/wrapper" <<WRAP
#!/bin/sh
for a; do case \$a in create|exec) echo "\$a" >>"$T/runc-calls"; break;; esac; done
exec "$real_runc" "\$@"
WRAP
put_runtime "$T/wrapper"
ctl exec --exec-id e1 a -- true
grep -qx exec "$T/runc-calls" || fail "a's shim ran its stale copy for an exec after the runtime changed"
ctl create --bundle "$b" c
grep -qx create "$T/runc-calls" || fail "c's shim did not run the runtime at its path"
[[ $(init_exe c) != "$COPY" ]] || fail "c's runc init runs from a copy of a script"

echo "--- an ELF again: copied afresh for the shims started after"
put_runtime "$real_runc"
ctl create --bundle "$b" d
assert_eq "$COPY" "$(init_exe d)" "d's runc init runs from a copy"
[[ $(init_exe_inode d) != "$(init_exe_inode b)" ]] || fail "d runs the copy made before the runtime changed"

for id in a b c d; do ctl kill --signal KILL "$id" 2>/dev/null || true; done
for id in a b c d; do
    ctl wait "$id" >/dev/null 2>&1 || true
    ctl delete "$id" >/dev/null
done
berth_leaks_check
echo "mgr-runtime-copy: ok"
