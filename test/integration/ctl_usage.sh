#!/usr/bin/env bash
# berthctl without a daemon: every command answers --help (exit 0); usage
# errors exit 2 with the help text; every command against a socket nobody
# listens on exits 1 with exactly one stderr line "berthctl: unavailable: …";
# bad ids, namespaces, signals, mounts, bundles and resource files are
# "berthctl: invalid-argument: …" (exit 1) before any connection is tried.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

berth_test_init ctl-usage
[[ -x $BERTHCTL ]] || fail "no berthctl at $BERTHCTL (build first, or set BERTH_BUILD)"
SOCK=$T/berthd.sock # nobody listens here
checks=0

# run_ctl ARGS... — sets $OUT, $ERR, $RC
run_ctl() {
    RC=0
    timeout 10 "$BERTHCTL" "$@" >"$T/out" 2>"$T/err" || RC=$?  # (a hang: 124)
    OUT=$(<"$T/out")
    ERR=$(<"$T/err")
}

# expect_error RC CODE ARGS... — exit RC and exactly one stderr line
# "berthctl: CODE: …", nothing on stdout.
expect_error() {
    local rc=$1 code=$2
    shift 2
    run_ctl "$@"
    assert_eq "$rc" "$RC" "exit status of: berthctl $* (stderr: $ERR)"
    assert_eq 1 "$(wc -l <"$T/err")" "stderr lines of: berthctl $* (stderr: $ERR)"
    [[ $ERR == "berthctl: $code: "* ]] || fail "berthctl $*: stderr is not 'berthctl: $code: …': $ERR"
    assert_eq "" "$OUT" "stdout of: berthctl $*"
    checks=$((checks + 1))
}

# expect_usage ARGS... — exit 2, something on stderr, the help text included
expect_usage() {
    run_ctl "$@"
    assert_eq 2 "$RC" "exit status of usage error: berthctl $* (stderr: $ERR)"
    assert_contains "$ERR" "Usage:" "help text of usage error: berthctl $*"
    [[ $ERR == berthctl:* ]] || fail "berthctl $*: usage error does not start with 'berthctl:': $ERR"
    checks=$((checks + 1))
}

echo '{"memory":{"limit":1048576}}' >"$T/resources.json"
echo '{"memory":' >"$T/bad.json"
mkdir -p "$T/bundle"

# -------------------------------------------------------------- --help
commands=(create start run exec state list ls kill wait delete pause resume pids
    update metrics checkpoint resize close-stdin events version)
run_ctl --help
assert_eq 0 "$RC" "berthctl --help"
assert_contains "$OUT" "Usage:" "berthctl --help"
for c in "${commands[@]}"; do
    run_ctl "$c" --help
    assert_eq 0 "$RC" "berthctl $c --help exit status (stderr: $ERR)"
    assert_contains "$OUT" "Usage:" "berthctl $c --help"
    run_ctl "$c" -h
    assert_eq 0 "$RC" "berthctl $c -h exit status"
    checks=$((checks + 1))
done

# -------------------------------------------------------------- usage errors
expect_usage
expect_usage no-such-command
expect_usage --no-such-flag list
expect_usage state
expect_usage state a b
expect_usage create t1
expect_usage run t1
expect_usage run --rm -d --bundle "$T/bundle" t1
expect_usage exec t1 -- true
expect_usage exec --exec-id e1 t1
expect_usage kill --no-such-flag t1
expect_usage resize --width x --height 10 t1
expect_usage update t1
expect_usage checkpoint t1
expect_usage events --since notanumber
expect_usage events --since -1                    # not wrapped to 2^64-1
expect_usage events --since 18446744073709551616  # 2^64: not wrapped to 0
expect_usage resize --width -1 --height 10 t1
expect_usage resize --width 10 --height 65536 t1  # struct winsize: 16 bits
expect_usage list --json extra

# berthctl defines only the subcommand a command line names (main.cc,
# namedSubcommand); help and usage errors still come from the whole tree.
run_ctl --address "$SOCK" -n x --help
for c in "${commands[@]}"; do assert_contains "$OUT" "$c" "berthctl --help lists $c"; done
expect_usage --address="$SOCK" -nx ls --bogus       # an alias, after both global forms
assert_contains "$ERR" "Usage: list" "the help of the subcommand given, by its alias"
[[ $ERR != *Subcommands:* ]] || fail "ls --bogus printed the top-level help: $ERR"
expect_usage --namespace x state                   # the subcommand's help, not the top's
assert_contains "$ERR" "Usage: state" "the help of state"
expect_usage --address "$SOCK" run                 # a subcommand named like an option value
expect_usage -n list                               # "list" is the namespace here: no subcommand
assert_contains "$ERR" "Subcommands:" "no subcommand: the top-level help"
expect_usage --address "$SOCK" frobnicate t1
assert_contains "$ERR" "Subcommands:" "an unknown subcommand: the top-level help"

# -------------------------------------------------------------- no daemon
unavail=(
    "create --bundle $T/bundle t1"
    "create --bundle $T/bundle --stdout out --mount type=bind,src=/a,dst=/b,options=rbind:ro t1"
    "start t1"
    "start --exec-id e1 t1"
    "run --bundle $T/bundle t1"
    "run -d --bundle $T/bundle t1"
    "run --rm --tty --bundle $T/bundle t1"
    "exec --exec-id e1 t1 -- sh -c true"
    "exec -d --exec-id e1 --cwd / --env A=1 t1 -- true"
    "state t1"
    "state --exec-id e1 t1"
    "list"
    "ls --json"
    "kill t1"
    "kill --signal KILL --all t1"
    "kill -s 9 --exec-id e1 t1"
    "wait t1"
    "delete t1"
    "pause t1"
    "resume t1"
    "pids t1"
    "update --resources $T/resources.json t1"
    "metrics t1"
    "checkpoint --image-path $T/cp --exit t1"
    "resize --width 80 --height 24 t1"
    "close-stdin t1"
    "events"
    "events --topic /tasks/exit --since 5"
    "version"
)
for args in "${unavail[@]}"; do
    # shellcheck disable=SC2086
    expect_error 1 unavailable --address "$SOCK" $args
    assert_contains "$ERR" "$SOCK" "the socket is named: berthctl $args"
done
# the address from the environment; global options after the command
BERTH_ADDRESS=$T/env.sock expect_error 1 unavailable list
assert_contains "$ERR" "$T/env.sock" "BERTH_ADDRESS is used"
expect_error 1 unavailable list --address "$T/late.sock"
assert_contains "$ERR" "$T/late.sock" "--address after the command"
# no FIFO directory is left behind by a failed run or exec
mkdir -p "$T/tmp"
TMPDIR=$T/tmp expect_error 1 unavailable --address "$SOCK" run --bundle "$T/bundle" t1
TMPDIR=$T/tmp expect_error 1 unavailable --address "$SOCK" exec --exec-id e1 t1 -- true
[[ -z $(ls -A "$T/tmp") ]] || fail "a berthctl-* directory was left behind: $(ls -A "$T/tmp")"
# an exec's command, env and cwd go into a JSON spec: not UTF-8 is the
# caller's error (it was internal, nlohmann's type_error)
expect_error 1 invalid-argument --address "$SOCK" exec -d --exec-id e1 t1 -- cat $'caf\xe9'
expect_error 1 invalid-argument --address "$SOCK" exec -d --exec-id e1 --env $'X=\xff' t1 -- true

# -------------------------------------------------------------- invalid arguments
expect_error 1 invalid-argument --address "$SOCK" state 'bad/id'
expect_error 1 invalid-argument --address "$SOCK" state .hidden
expect_error 1 invalid-argument --address "$SOCK" state -- -dash
expect_error 1 invalid-argument --address "$SOCK" delete "$(printf 'x%.0s' {1..80})"
expect_error 1 invalid-argument --address "$SOCK" kill 'a b'
expect_error 1 invalid-argument --address "$SOCK" state --exec-id 'e/1' t1
expect_error 1 invalid-argument --address "$SOCK" -n 'bad/ns' list
expect_error 1 invalid-argument --address "$SOCK" --namespace '' state t1
BERTH_NAMESPACE='no/pe' expect_error 1 invalid-argument --address "$SOCK" list
expect_error 1 invalid-argument --address "$SOCK" kill --signal SIGNOPE t1
expect_error 1 invalid-argument --address "$SOCK" kill --signal 0 t1
expect_error 1 invalid-argument --address "$SOCK" kill --signal 65 t1
expect_error 1 invalid-argument --address "$SOCK" create --bundle "$T/no-such-bundle" t1
expect_error 1 invalid-argument --address "$SOCK" run --bundle "$T/no-such-bundle" t1
expect_error 1 invalid-argument --address "$SOCK" create --bundle "$T/bundle" --mount nonsense t1
expect_error 1 invalid-argument --address "$SOCK" create --bundle "$T/bundle" --mount type=bind,bogus=1 t1
expect_error 1 invalid-argument --address "$SOCK" update --resources "$T/bad.json" t1
expect_error 1 invalid-argument --address "$SOCK" update --resources "$T/missing.json" t1
# /dev/zero filled berthctl's memory
expect_error 1 invalid-argument --address "$SOCK" update --resources /dev/zero t1
expect_error 1 invalid-argument --address "$SOCK" exec --exec-id 'e 1' t1 -- true
expect_error 1 invalid-argument --address "$SOCK" run --bundle "$T/bundle" 'x/y'

# ------------------------------------------------------------------ berthd
# berthd's usage errors exit 2 too; its --help shows the contract's defaults
rc=0
"$BERTHD" --no-such-flag >"$T/bd.out" 2>"$T/bd.err" || rc=$?
[[ $rc == 2 ]] || fail "berthd --no-such-flag exited $rc, not 2"
[[ -s $T/bd.err ]] || fail "berthd --no-such-flag said nothing"
help=$("$BERTHD" --help) || fail "berthd --help failed"
for d in /var/lib/berth /run/berth /run/berth/berthd.sock; do
    [[ $help == *"=$d"* ]] || fail "berthd --help does not show the default $d"
done
checks=$((checks + 2))

# ------------------------------------------------------------------ berth-shim
# its usage errors exit 2 as well (CLI11's own codes were 106, 109, ...)
for args in "" "--no-such-flag" "start" "start --namespace n --id i --bundle /b" "delete --bogus" "frobnicate"; do
    rc=0
    # shellcheck disable=SC2086
    "$BERTH_SHIM" $args >"$T/shim.out" 2>"$T/shim.err" || rc=$?
    [[ $rc == 2 ]] || fail "berth-shim $args exited $rc, not 2 ($(cat "$T/shim.err"))"
    [[ -s $T/shim.err ]] || fail "berth-shim $args said nothing on stderr"
    checks=$((checks + 1))
done
"$BERTH_SHIM" start --help >"$T/shim.out" || fail "berth-shim start --help failed"
assert_contains "$(cat "$T/shim.out")" "--state-dir" "berth-shim start --help"

echo "ctl-usage: $checks checks passed"
