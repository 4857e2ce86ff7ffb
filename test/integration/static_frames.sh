#!/usr/bin/env bash
# berth's static binaries (berth-shim, berthctl) find exception frames through
# .eh_frame_hdr, as dynamic and PIE binaries do, and not through frames that
# gcc's crtbeginT.o registers at start-up: with those, the first exception a
# process throws sorts every FDE of the binary, 1.5-3 ms of CPU per process
# (common/static_crt/meson.build). For each binary that is static: it has a
# PT_GNU_EH_FRAME header, it lacks crtbeginT.o's __EH_FRAME_BEGIN__, and an
# exception thrown in it is still caught (its error line, exit 1).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

berth_test_init static-frames
command -v readelf >/dev/null && command -v nm >/dev/null || { echo "SKIP: no readelf or nm (binutils)"; exit 77; }
checked=0
for bin in "$BERTH_SHIM" "$BERTHCTL"; do
    real=$(readlink -f "$bin")
    [[ -x $real ]] || fail "no binary at $bin (build first, or set BERTH_BUILD)"
    headers=$(readelf -lW "$real")
    if [[ $headers == *INTERP* ]]; then
        echo "skip $real: dynamically linked (meson -Dstatic_shim/-Dstatic_client=false)"
        continue
    fi
    [[ $headers == *GNU_EH_FRAME* ]] || fail "$real: no PT_GNU_EH_FRAME header (linked without --eh-frame-hdr)"
    symbols=$(nm "$real" 2>&1) || fail "$real: nm failed: $symbols"
    [[ $symbols == *" main"* ]] || fail "$real: no symbol table to check (stripped?)"
    if grep -qw __EH_FRAME_BEGIN__ <<<"$symbols"; then
        fail "$real: linked with crtbeginT.o, which registers its frames (__EH_FRAME_BEGIN__)"
    fi
    checked=$((checked + 1))
done

# The unwinder finds the frames this way: an exception thrown at start-up is
# caught and answered.
rc=0
err=$("$BERTH_SHIM" start --namespace 'b@d' --id x --bundle /nonexistent --state-dir "$T/shim-state" 2>&1 >/dev/null) || rc=$?
assert_eq 1 "$rc" "berth-shim start with a bad namespace: exit status ($err)"
assert_contains "$err" 'berth-shim: invalid-argument: invalid namespace "b@d"' "berth-shim's error"
rc=0
err=$("$BERTHCTL" --address "$T/nobody.sock" state x 2>&1 >/dev/null) || rc=$?
assert_eq 1 "$rc" "berthctl against a socket nobody listens on: exit status ($err)"
assert_contains "$err" "berthctl: unavailable: cannot connect to $T/nobody.sock" "berthctl's error"
[[ ! -e $T/shim-state ]] || fail "berth-shim made its state dir before it refused the namespace"
echo "ok: $checked static binaries find their frames through .eh_frame_hdr; exceptions caught in both"
