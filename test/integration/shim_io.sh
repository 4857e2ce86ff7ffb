#!/usr/bin/env bash
# berth-shim IO: stdout/stderr into regular files (appended) and into FIFOs
# (every byte there once the exit is reported and the readers reach EOF), and
# stdin from a FIFO fed through the shim, ended by closeIO.
set -euo pipefail
source "$(dirname "$0")/shim_lib.sh"
shim_test_init shim-io

# wait_reader PID NAME — a background reader must reach EOF and exit 0.
wait_reader() {
    WAIT_FOR_TIMEOUT=10 poll_for _pid_gone "$1" || fail "$2: reader still running (no EOF)"
    wait "$1" || fail "$2: reader failed"
}

step "stdout/stderr to regular files"
b=$(mkbundle files -- sh -c 'seq 1 20000; seq 1 5000 >&2')
echo "already here" >"$T/f.out"
shim_up f1 "$b"
drv "$S" create f1 "" "$T/f.out" "$T/f.err" >/dev/null
drv "$S" start >/dev/null
assert_eq 0 "$(drv "$S" wait)" "writer exit"
assert_eq 20001 "$(wc -l <"$T/f.out")" "stdout lines (appended to one line)"
assert_eq "already here" "$(head -n1 "$T/f.out")" "the file was appended to"
tail -n +2 "$T/f.out" | cmp -s - <(seq 1 20000) || fail "stdout differs from seq 1 20000"
assert_eq 5000 "$(wc -l <"$T/f.err")" "stderr lines"
cmp -s "$T/f.err" <(seq 1 5000) || fail "stderr differs from seq 1 5000"
shim_down

step "exec output to regular files"
b=$(mkbundle files2 -- sleep 100)
shim_up f2 "$b"
drv "$S" create f2 "" "" "" >/dev/null
drv "$S" start >/dev/null
drv "$S" exec x1 '{"args":["sh","-c","seq 1 30000; echo done >&2"]}' "" "$T/x1.out" "$T/x1.err" >/dev/null
drv "$S" start x1 >/dev/null
assert_eq 0 "$(drv "$S" wait x1)" "exec writer exit"
cmp -s "$T/x1.out" <(seq 1 30000) || fail "exec stdout differs from seq 1 30000 ($(wc -l <"$T/x1.out") lines)"
assert_eq 'done' "$(cat "$T/x1.err")" "exec stderr"
drv "$S" kill 9 >/dev/null
drv "$S" wait >/dev/null
shim_down

step "stdout/stderr to FIFOs (more than a pipe buffer)"
b=$(mkbundle fifos -- sh -c 'seq 1 100000; seq 1 20000 >&2')
mkfifo "$T/o.fifo" "$T/e.fifo"
cat "$T/o.fifo" >"$T/o.txt" &
rout=$!
cat "$T/e.fifo" >"$T/e.txt" &
rerr=$!
shim_up p1 "$b"
drv "$S" create p1 "" "$T/o.fifo" "$T/e.fifo" >/dev/null
drv "$S" start >/dev/null
assert_eq 0 "$(drv "$S" wait)" "writer exit (FIFOs)"
wait_reader "$rout" "stdout FIFO"
wait_reader "$rerr" "stderr FIFO"
cmp -s "$T/o.txt" <(seq 1 100000) || fail "FIFO stdout differs from seq 1 100000 ($(wc -l <"$T/o.txt") lines)"
cmp -s "$T/e.txt" <(seq 1 20000) || fail "FIFO stderr differs from seq 1 20000 ($(wc -l <"$T/e.txt") lines)"
shim_down

step "stdin from a FIFO, closeIO ends it (init)"
b=$(mkbundle catter -- cat)
mkfifo "$T/i.fifo"
shim_up c1 "$b"
drv "$S" create c1 "$T/i.fifo" "$T/c.out" "$T/c.err" >/dev/null
drv "$S" start >/dev/null
printf 'hello\nworld\n' >"$T/i.fifo"
# cat only ends on EOF, and only closeIO gives it one
sleep 0.3
assert_eq running "$(drv "$S" state | cut -d' ' -f1)" "cat waits for more input"
printf 'third line\n' >"$T/i.fifo"
drv "$S" closeio >/dev/null
assert_eq 0 "$(drv "$S" wait)" "cat exits 0 after closeIO"
assert_eq "hello
world
third line" "$(cat "$T/c.out")" "cat's output"
assert_eq "" "$(cat "$T/c.err")" "cat's stderr"
shim_down

step "stdin from a FIFO, a large write, closeIO right after it (exec)"
b=$(mkbundle catter2 -- sleep 100)
mkfifo "$T/xi.fifo" "$T/yi.fifo"
seq 1 50000 >"$T/big.in"            # 288894 bytes: more than FIFO + pipe hold
head -c 100000 "$T/big.in" >"$T/mid.in" # 100000 bytes: fits in FIFO + pipe
shim_up c2 "$b"
drv "$S" create c2 "" "" "" >/dev/null
drv "$S" start >/dev/null
# xc reads at once; the writer's last bytes may still be in the FIFO when
# closeIO arrives.
drv "$S" exec xc '{"args":["cat"]}' "$T/xi.fifo" "$T/xc.out" "$T/xc.err" >/dev/null
drv "$S" start xc >/dev/null
cat "$T/big.in" >"$T/xi.fifo"
drv "$S" closeio xc >/dev/null
assert_eq 0 "$(drv "$S" wait xc)" "exec cat exits 0 after closeIO"
cmp -s "$T/xc.out" "$T/big.in" ||
    fail "xc: cat's output differs from what was written before closeIO ($(wc -c <"$T/xc.out") of $(wc -c <"$T/big.in") bytes)"
# yc starts reading 1 s late: everything written sits in the FIFO and the
# stdin pipe when closeIO arrives, and must still reach cat before its EOF.
drv "$S" exec yc '{"args":["sh","-c","sleep 1; exec cat"]}' "$T/yi.fifo" "$T/yc.out" "$T/yc.err" >/dev/null
drv "$S" start yc >/dev/null
cat "$T/mid.in" >"$T/yi.fifo"
drv "$S" closeio yc >/dev/null
assert_eq 0 "$(drv "$S" wait yc)" "slow exec cat exits 0 after closeIO"
cmp -s "$T/yc.out" "$T/mid.in" ||
    fail "yc: cat's output differs from what was written before closeIO ($(wc -c <"$T/yc.out") of $(wc -c <"$T/mid.in") bytes)"
# a close-stdin before the exec's start (its IO comes with the start): it
# was dropped, and cat never saw the end of its input
mkfifo "$T/zi.fifo"
drv "$S" exec zc '{"args":["cat"]}' "$T/zi.fifo" "$T/zc.out" "$T/zc.err" >/dev/null
drv "$S" closeio zc >/dev/null
drv "$S" start zc >/dev/null
assert_eq 0 "$(DRV_TIMEOUT=10 drv "$S" wait zc)" "exec cat, its stdin closed before its start"

step "a terminal exec whose output nobody reads: nothing of it stays after its delete"
# Its output fills the FIFO (64 KiB) and the pty, and the shim's copy waits
# to write; the exec is killed. 5 s after the exit the shim gives up on the
# output; the copy, its console and the FIFO's fd used to stay until the
# shim ended, one set per such exec.
# (until the FIFO is full, its fill (FIONREAD) no longer growing: then the
# copy waits to write, whatever the load)
fifo_full() { python3 -c 'import fcntl, os, struct, sys, termios, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
fill = lambda: struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]
a = fill(); time.sleep(0.2); b = fill()
sys.exit(0 if a == b and a > 16384 else 1)' "$1"; }
# unread_tty_exec EID — start exec EID, `yes` on a terminal whose output goes
# to $T/unread-EID.fifo, which nobody reads; return once that FIFO is full
unread_tty_exec() {
    mkfifo "$T/unread-$1.fifo"
    drv "$S" exec "$1" '{"args":["yes"],"terminal":true}' "" "$T/unread-$1.fifo" "" tty >/dev/null
    drv "$S" start "$1" >/dev/null
    wait_for fifo_full "$T/unread-$1.fifo"
}
unread_tty_exec tu
drv "$S" kill 9 tu >/dev/null
assert_eq 137 "$(DRV_TIMEOUT=20 drv "$S" wait tu)" "tu's exit, its output unread"
drv "$S" delete tu >/dev/null
held=$(find "/proc/$spid/fd" -lname "$T/unread-tu.fifo" 2>/dev/null | wc -l)
assert_eq 0 "$held" "fds of the shim on the unread FIFO after tu's delete"

step "the init's exit waits for an exec's exit whose output is still draining"
# tv's exit is reaped at once but goes out only once its pty is drained, at
# the latest 5 s later (nobody reads): the init, killed meanwhile, must not
# publish its exit before tv's. (It did: the init waited only for execs not
# yet reaped, and a delete right after its exit lost tv's for good.)
unread_tty_exec tv
drv "$S" kill 9 tv >/dev/null
wait_for test -s "$T/state/$SHIM_NS/c2/exit/exec-tv"  # reaped, its exit held
drv "$S" kill 9 >/dev/null
# Meanwhile the init is gone, its exit not yet published: runc's refusals
# are the task's state, not the shim's failure (they answered internal).
wait_for test -s "$T/state/$SHIM_NS/c2/exit/init"
drv_fails failed-precondition "$S" pause
assert_eq running "$(drv "$S" state | cut -d' ' -f1)" "the init, its exit held (the pause met runc's refusal)"
assert_eq 137 "$(DRV_TIMEOUT=20 drv "$S" wait)" "the init's exit"
exits=$(drv_events "$S" 0 1000 1000 | grep -E '^[0-9]+ exit ' | sed -E 's/^[0-9]+ //' | tail -2)
assert_eq "exit id=tv status=137
exit id=c2 status=137" "$exits" "the last two exits, in order"
shim_down

step "a created task's delete waits for the exits its kill holds back"
# The delete kills the init and tw; tw's exit waits for its output (up to
# 5 s), the init's for tw's. The delete waited 2 s for the init's exit:
# then /tasks/delete went out first, and the shim, shut down right after,
# never sent the two exits.
shim_up c3 "$b"
drv "$S" create c3 "" "" "" >/dev/null
unread_tty_exec tw
assert_eq 137 "$(DRV_TIMEOUT=20 drv "$S" delete)" "the delete's exit"
assert_eq "4 exit id=tw status=137
5 exit id=c3 status=137
6 delete status=137" "$(drv_events "$S" 3 3 2000)" "the events after the exec's start"
drv "$S" shutdown >/dev/null
shim_wait_gone "$spid"

berth_leaks_check
echo PASS
