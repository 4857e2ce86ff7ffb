# shellcheck shell=bash
# berth build/test dependencies (Debian 12 packages).
#
#   source tools/lib/deps.sh
#   berth_install_deps            # installs whatever is missing (needs root then)
#   berth_missing_deps            # prints the missing packages, one a line
#
# Quiet and quick (a single dpkg-query) when everything is installed.

BERTH_DEPS=(
    g++ meson ninja-build pkg-config
    capnproto libcapnp-dev libboost-dev libcgroup-dev catch2
    runc busybox-static criu
    libcli11-dev nlohmann-json3-dev
    iproute2 util-linux procps tmux
    jq python3  # the recovery tests read JSON with jq and bind stale sockets with python3
)

# Prints the packages of BERTH_DEPS (or of the arguments) that are not installed.
berth_missing_deps() {
    local -a want=("$@")
    ((${#want[@]})) || want=("${BERTH_DEPS[@]}")
    local -A ok=()
    local name status
    # One dpkg-query for all; unknown packages go to stderr and make it exit 1.
    while IFS=' ' read -r name status; do
        [[ $status == "install ok installed" ]] && ok[$name]=1
    done < <(dpkg-query -W -f='${Package} ${Status}\n' "${want[@]}" 2>/dev/null || true)
    local p
    for p in "${want[@]}"; do
        [[ -n ${ok[$p]:-} ]] || printf '%s\n' "$p"
    done
}

# Installs the missing packages with apt-get (apt-get update once, only if needed).
# Returns non-zero with a clear message if something is missing and we are not root.
berth_install_deps() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "berth_install_deps: dpkg-query not found; this needs Debian 12 (install: ${BERTH_DEPS[*]})" >&2
        return 1
    fi
    local -a missing
    mapfile -t missing < <(berth_missing_deps "$@")
    ((${#missing[@]})) || return 0
    if ((EUID != 0)); then
        echo "berth_install_deps: missing packages: ${missing[*]}" >&2
        echo "berth_install_deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
        return 1
    fi
    echo "berth_install_deps: installing ${missing[*]}" >&2
    # (a fresh cloud image's apt-daily may hold apt's and dpkg's locks for a
    # while: the lists' lock is not one DPkg::Lock::Timeout waits for)
    local try=1
    until apt-get -o DPkg::Lock::Timeout=600 update -q; do
        if ((try++ >= 6)); then
            echo "berth_install_deps: apt-get update failed" >&2
            return 1
        fi
        echo "berth_install_deps: apt-get update failed; trying again in 20 s" >&2
        sleep 20
    done
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
        "${missing[@]}" || {
        echo "berth_install_deps: apt-get install failed for: ${missing[*]}" >&2
        return 1
    }
    mapfile -t missing < <(berth_missing_deps "$@")
    if ((${#missing[@]})); then
        echo "berth_install_deps: still missing after install: ${missing[*]}" >&2
        return 1
    fi
}
