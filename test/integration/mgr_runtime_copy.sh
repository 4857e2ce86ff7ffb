#!/usr/bin/env bash
# berthd hands each shim it starts one sealed memfd copy of the runtime
# (common/sealed_copy.h), and runc runs from it: a created task's `runc init`
# has the copy as its /proc/PID/exe, not a clone of runc's own. A copy whose
# mode was changed (what root in a container could do through the exe link
# of a `runc init` in its pid namespace) is not run: the shim runs the path
# and berthd copies afresh. Once the file at the runtime's path changes, the
# shims started before run it from the path, and berthd copies the new file
# for the shims started after; a runtime that is not an ELF executable (a
# wrapper script) runs from its path, and so does every runtime with
# berthd --no-runtime-copy.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require
berth_test_init mgr-runtime-copy

real_runc=$(command -v "$BERTH_RUNC")
if [[ $(head -c4 "$real_runc" | od -An -c | tr -d ' ') != 177ELF ]]; then
    echo "SKIP: $real_runc is not an ELF executable (a wrapper?): nothing to copy"
    exit 77
fi
mkdir -p "$T/bin"
# put_runtime FILE — replace $T/bin/runc by FILE as a package upgrade does (a rename)
put_runtime() { cp "$1" "$T/bin/runc.new" && chmod +x "$T/bin/runc.new" && mv -f "$T/bin/runc.new" "$T/bin/runc"; }
put_runtime "$real_runc"
berth_start_daemon --runtime "$T/bin/runc"

# init_exe ID — what a created task's init (runc init, waiting for its start) runs
init_exe() { readlink "/proc/$(json_get "$(ctl state "$1")" pid)/exe"; }
init_exe_inode() { stat -L -c %i "/proc/$(json_get "$(ctl state "$1")" pid)/exe"; }
shim_of() { local pid _; read -r pid _ <"$T/state/default/$1/shim.pid"; echo "$pid"; }
# copy_fd ID — the fd of ID's shim that holds the copy
copy_fd() {
    local fd
    for fd in /proc/"$(shim_of "$1")"/fd/*; do
        [[ $(readlink "$fd") == "$COPY" ]] && { echo "$fd"; return 0; }
    done
    return 1
}
COPY="/memfd:runc (deleted)"

echo "--- created tasks' runc init runs from berthd's one copy"
b=$(mkbundle_sleeper sleeper)
ctl create --bundle "$b" a
ctl create --bundle "$b" b
assert_eq "$COPY" "$(init_exe a)" "a's runc init runs from the copy"
assert_eq "$(init_exe_inode a)" "$(init_exe_inode b)" "a and b run the same copy"
copy_fd a >/dev/null || fail "a's shim does not hold the copy"
assert_eq "0511" "$(stat -L -c %04a "$(copy_fd a)")" "the copy's mode"
ctl start a
assert_eq running "$(status_of a)" "a runs"

echo "--- the copy's mode is changed: the shims run the path, berthd copies afresh"
chmod 000 "$(copy_fd a)"
ctl exec --exec-id e0 a -- true || fail "an exec after the chmod failed"
grep -q "its sealed copy was changed (mode 0000" "$T/state/default/a/log" ||
    fail "a's shim did not notice the chmod"
! copy_fd a >/dev/null || fail "a's shim still holds the changed copy"
ctl create --bundle "$b" c
assert_eq "$COPY" "$(init_exe c)" "c's runc init runs from a copy"
c_copy=$(init_exe_inode c)
[[ $c_copy != "$(init_exe_inode b)" ]] || fail "c got the changed copy"
grep -q "was changed (mode 0000, changed since it was made): copying it again" "$T/berthd.log" ||
    fail "berthd did not say why it copied again"
ctl start c

echo "--- the runtime is replaced by a wrapper script: every shim runs it from its path"
cat >"$T/wrapper" <<WRAP
#!/bin/sh
for a; do case \$a in create|exec) echo "\$a" >>"$T/runc-calls"; break;; esac; done
exec "$real_runc" "\$@"
WRAP
put_runtime "$T/wrapper"
ctl exec --exec-id e1 c -- true
grep -qx exec "$T/runc-calls" || fail "c's shim ran its stale copy for an exec after the runtime changed"
ctl create --bundle "$b" d
grep -qx create "$T/runc-calls" || fail "d's shim did not run the runtime at its path"
exe=$(init_exe d)
[[ -n $exe && $exe != "$COPY" ]] || fail "d's runc init runs from a copy of a script ($exe)"

echo "--- an ELF again: copied afresh for the shims started after; touched in place: run from the path"
put_runtime "$real_runc"
ctl create --bundle "$b" e
assert_eq "$COPY" "$(init_exe e)" "e's runc init runs from a copy"
[[ $(init_exe_inode e) != "$c_copy" ]] || fail "e runs the copy made before the runtime changed"
touch "$T/bin/runc"
ctl pids e >/dev/null
grep -q "changed since this shim started" "$T/state/default/e/log" ||
    fail "e's shim ran its copy after the runtime was touched"

echo "--- berthd --no-runtime-copy"
berth_kill_daemon TERM
berth_start_daemon --runtime "$T/bin/runc" --no-runtime-copy
ctl create --bundle "$b" f
exe=$(init_exe f)
[[ -n $exe && $exe != "$COPY" ]] || fail "f's runc init runs from a copy under --no-runtime-copy ($exe)"
grep -q "shims run the runtime from its path (--no-runtime-copy)" "$T/berthd.log" || fail "berthd did not say so"

for id in a b c d e f; do ctl kill --signal KILL "$id" 2>/dev/null || true; done
for id in a b c d e f; do
    ctl wait "$id" >/dev/null 2>&1 || true
    ctl delete "$id" >/dev/null
done
berth_leaks_check
echo "mgr-runtime-copy: ok"
