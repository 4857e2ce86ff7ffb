#!/usr/bin/env bash
# `berthctl run --tty` in a real terminal (a tmux pane): type into busybox sh,
# see its output; `stty size` is the pane's size and follows a resize of the
# window (SIGWINCH -> resize); `exit 5` ends berthctl with status 5.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
source "$HERE/api_lib.sh"
command -v tmux >/dev/null || { echo "SKIP: no tmux"; exit 77; }
api_init api-tty

TMUX_SOCK=$T/tmux.sock
TMUX_PID=
tm() { tmux -S "$TMUX_SOCK" "$@"; }
tmux_kill() {
    [[ -n $TMUX_PID ]] || return 0
    tm kill-server >/dev/null 2>&1 || true
    kill -s KILL "$TMUX_PID" 2>/dev/null || true
    TMUX_PID=
}
api_before_cleanup() { tmux_kill; }

b=$(mkbundle shell -- sh)   # terminal false in config.json: --tty decides
# A plain shell in a 100x30 pane (no status line: the pane is the window).
tm -f /dev/null new-session -d -s t -x 100 -y 30 \
    "env -i PATH=$PATH HOME=$T TERM=screen PS1='outer\$ ' bash --norc --noprofile"
TMUX_PID=$(tm display-message -p '#{pid}')
tm set-option -g status off
tm set-option -g window-size manual >/dev/null 2>&1 || true

SESSION=t
pane() { tm capture-pane -p -J -t "$SESSION" -S -200; }
pane_has() { pane | grep -qF -- "$1"; }
pane_size() { tm display-message -p -t "$SESSION" '#{pane_height}x#{pane_width}'; }
type_line() { tm send-keys -t "$SESSION" -l -- "$1"; tm send-keys -t "$SESSION" Enter; }
expect_pane() {
    poll_for pane_has "$1" || {
        echo "--- pane:" >&2
        pane >&2
        fail "$2: '$1' not on the screen"
    }
}

wait_for pane_has 'outer$'
echo "--- run --tty"
type_line "$BERTHCTL --address $T/berthd.sock -n $BERTH_NAMESPACE run --tty --rm --bundle $b tt; echo rc=\$?"
is_running() { [[ $(status_of "$1" 2>/dev/null) == running ]]; }
wait_for is_running tt
st=$(ctl state tt)
assert_eq true "$(json_get "$st" terminal)" "state says terminal"
type_line 'echo hello-$((6*7))'
expect_pane hello-42 "the container's sh answers"
type_line 'tty; echo isatty=$?'
expect_pane isatty=0 "stdin is a terminal in the container"

echo "--- size"
sz=$(pane_size)
echo "  pane $sz"
type_line 'echo size1=$(stty size | tr " " x)'
expect_pane "size1=$sz" "stty size is the pane size"

echo "--- resize"
tm resize-window -t t -x 120 -y 40
resized() { [[ $(pane_size) == 40x120 ]]; }
poll_for resized || true
sz=$(pane_size)
echo "  pane $sz"
[[ $sz == 40x120 ]] || fail "tmux did not resize the pane: $sz"
# SIGWINCH reaches berthctl, which sends the size; give it a moment
sized() {
    type_line 'echo size2=$(stty size | tr " " x)'
    sleep 0.3
    pane_has "size2=$sz"
}
WAIT_FOR_TIMEOUT=5 poll_for sized || { pane >&2; fail "stty size did not follow the resize to $sz"; }

echo "--- exit 5"
type_line 'exit 5'
expect_pane rc=5 "berthctl's exit status"
wait_for pane_has 'outer$ '
expect_error not-found ctl state tt >/dev/null
tmux_kill

echo "--- exec --tty into a running task, in the pane"
ctl run -d --bundle "$(mkbundle_sleeper)" s1
tm -f /dev/null new-session -d -s t2 -x 90 -y 25 \
    "env -i PATH=$PATH HOME=$T TERM=screen PS1='outer2\$ ' bash --norc --noprofile"
TMUX_PID=$(tm display-message -p '#{pid}')
tm set-option -g status off
SESSION=t2
wait_for pane_has 'outer2$'
type_line "$BERTHCTL --address $T/berthd.sock -n $BERTH_NAMESPACE exec --tty --exec-id sh1 s1 -- sh; echo rc=\$?"
type_line 'echo exec-$((6*7)) size=$(stty size | tr " " x)'
expect_pane "exec-42 size=$(pane_size)" "exec --tty answers with the pane's size"
type_line 'exit 3'
expect_pane rc=3 "exec --tty's exit status"
# a process that asks its size at once has the pane's, not 0x0: berthctl
# sizes the pty before the start (it used to resize only after the answer)
want=$(pane_size | sed 's/x/ /')
type_line "$BERTHCTL --address $T/berthd.sock -n $BERTH_NAMESPACE exec --tty --exec-id sz1 s1 -- stty size; echo rc4=\$?"
expect_pane rc4=0 "exec --tty of stty size"
pane | grep -qxF "$want" || { pane >&2; fail "exec --tty: stty size at once is not the pane's ($want)"; }
type_line clear
wait_for bash -c "! tmux -S '$TMUX_SOCK' capture-pane -p -t t2 | grep -q rc4="
bs=$(mkbundle sizer -- stty size)
type_line "$BERTHCTL --address $T/berthd.sock -n $BERTH_NAMESPACE run --tty --rm --bundle $bs sz2; echo rc5=\$?"
expect_pane rc5=0 "run --tty of stty size"
pane | grep -qxF "$want" || { pane >&2; fail "run --tty: stty size at once is not the pane's ($want)"; }
# without --tty a terminal is not forwarded: cat has /dev/null and ends
type_line "$BERTHCTL --address $T/berthd.sock -n $BERTH_NAMESPACE exec --exec-id cat1 s1 -- cat; echo rc2=\$?"
expect_pane rc2=0 "exec of cat without --tty, from a terminal"
tmux_kill

echo "--- a detached terminal: resize by command, output drained before the exit, EOF on close-stdin"
mkfifo "$T/tin"
exec 7<>"$T/tin"
ctl create --tty --stdin "$T/tin" --stdout "$T/tty.out" --bundle "$b" d1
ctl start d1
ctl resize --width 77 --height 22 d1
echo 'echo dsize=$(stty size | tr " " x)' >&7
wait_for grep -q 'dsize=22x77' "$T/tty.out"
ctl close-stdin d1
w=$(timeout 10 "$BERTHCTL" --address "$T/berthd.sock" wait d1) || fail "sh on a terminal did not exit after close-stdin"
assert_eq 0 "$(json_get "$w" exit_status)" "sh's exit after EOF"
exec 7>&-
ctl delete d1 >/dev/null
ctl run -d --tty --bundle "$(mkbundle counting -- seq 1 30000)" d2 2>/dev/null ||
    fail "run -d --tty"
ctl wait d2 >/dev/null
# run -d has no output target: use create with a file instead
ctl delete d2 >/dev/null
ctl create --tty --stdout "$T/seq.out" --bundle "$T/bundles/counting" d3
ctl start d3
ctl wait d3 >/dev/null
assert_eq 30000 "$(tail -1 "$T/seq.out" | tr -d '\r')" "the last line is there when wait returns"
assert_eq 30000 "$(wc -l <"$T/seq.out")" "every line is there when wait returns"
ctl delete d3 >/dev/null

echo "--- --tty with piped stdin: all of it, then EOF, even mid-line"
# The shim passes on what the stdin FIFO holds before the EOF character, and
# sends it twice after a partial line (the first only ends the line); `cat`
# then ends. It used to hang on input without a final newline (the EOF
# ended the line only) and to lose the input beyond the pty's buffer.
bc=$(mkbundle ttycat -- cat)
big=$(head -c 20000 /dev/zero | tr '\0' x)
for input in abc "$big"; do
    st=0
    out=$(printf '%s' "$input" | timeout -k 2 15 "$BERTHCTL" --address "$T/berthd.sock" \
        run --tty --rm --bundle "$bc" tc 2>&1) || st=$?
    assert_eq 0 "$st" "run --tty with ${#input} bytes piped in"
    # (the pty echoes the input; cat's copy is at most a canonical line, 4095)
    ((${#out} > ${#input})) || fail "${#out} bytes out for ${#input} in: $(head -c 100 <<<"$out")"
done
expect_error not-found ctl state tc >/dev/null
# stdin a regular file (CLI.md allows one): its end is the input's end, as
# close-stdin would be; the shim used to stop copying at it without the EOF
# character, and cat waited for ever
printf 'from a file\n' >"$T/tin.txt"
ctl create --tty --stdin "$T/tin.txt" --stdout "$T/tf.out" --bundle "$bc" tf
ctl start tf
w=$(timeout 10 "$BERTHCTL" --address "$T/berthd.sock" wait tf) || fail "cat on a terminal did not end at its stdin file's end"
assert_eq 0 "$(json_get "$w" exit_status)" "cat's exit at the file's end"
assert_contains "$(<"$T/tf.out")" "from a file" "cat's output"
ctl delete tf >/dev/null

ctl kill --signal KILL s1
ctl wait s1 >/dev/null
ctl delete s1 >/dev/null
berth_kill_daemon TERM
berth_leaks_check
echo "api-tty: ok"
