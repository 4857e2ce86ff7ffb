#!/usr/bin/env bash
# Namespaces isolate tasks: the same id in two namespaces, lists, lookups,
# deletes and runc state are separate.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/mgr_lib.sh"
mgr_require
berth_test_init mgr-namespaces
berth_start_daemon
b=$(mkbundle_sleeper)

ctl -n alpha create --bundle "$b" web
ctl -n beta create --bundle "$b" web
ctl -n beta create --bundle "$b" db
ctl -n alpha start web
assert_eq running "$(json_get "$(ctl -n alpha state web)" status)" "alpha/web"
assert_eq created "$(json_get "$(ctl -n beta state web)" status)" "beta/web untouched by alpha's start"
[[ $(json_get "$(ctl -n alpha state web)" pid) != "$(json_get "$(ctl -n beta state web)" pid)" ]] ||
    fail "two namespaces share one init"

la=$(ctl -n alpha list --json)
lb=$(ctl -n beta list --json)
assert_contains "$la" '"id":"web"' "alpha lists web"
[[ $la != *'"id":"db"'* ]] || fail "alpha lists beta's db: $la"
assert_contains "$lb" '"id":"db"' "beta lists db"
assert_eq "[]" "$(ctl -n gamma list --json | tr -d ' \n')" "an empty namespace"
expect_error not-found ctl -n alpha state db >/dev/null
expect_error not-found ctl state web >/dev/null  # default namespace

assert_eq web "$(runc_list alpha)" "runc state of alpha"
assert_eq "$(printf 'db\nweb')" "$(runc_list beta | sort)" "runc state of beta"
[[ -d $T/state/alpha/web && -d $T/state/beta/web ]] || fail "state dirs per namespace"

ctl -n alpha kill --signal KILL web
ctl -n alpha wait web >/dev/null
ctl -n alpha delete web >/dev/null
expect_error not-found ctl -n alpha state web >/dev/null
assert_eq created "$(json_get "$(ctl -n beta state web)" status)" "beta/web survives alpha's delete"
ctl -n beta delete web >/dev/null
ctl -n beta delete db >/dev/null

# the longest namespace and id there are: the shim's socket path (and a
# terminal's console socket) no longer fits a socket address; it must work
long_ns=n$(printf 'a%.0s' {1..75})
long_id=i$(printf 'b%.0s' {1..75})
long_exec=x$(printf 'c%.0s' {1..75})
lb_dir=$(mkbundle_sleeper)
ctl -n "$long_ns" create --tty --bundle "$lb_dir" "$long_id"
ctl -n "$long_ns" start "$long_id"
assert_eq running "$(json_get "$(ctl -n "$long_ns" state "$long_id")" status)" "a task with the longest namespace and id"
ctl -n "$long_ns" exec -d --tty --exec-id "$long_exec" "$long_id" -- sleep 100
assert_eq running "$(json_get "$(ctl -n "$long_ns" state --exec-id "$long_exec" "$long_id")" status)" \
    "a terminal exec with the longest exec id"
ctl -n "$long_ns" kill --all --signal KILL "$long_id"
ctl -n "$long_ns" wait "$long_id" >/dev/null
ctl -n "$long_ns" delete "$long_id" >/dev/null

# events carry their namespace
ev=$(timeout 2 "$BERTHCTL" --address "$T/berthd.sock" events --since 0 || true)
assert_contains "$ev" '"namespace":"alpha"' "alpha events"
assert_contains "$ev" '"namespace":"beta"' "beta events"
berth_leaks_check
echo "mgr-namespaces: ok"
