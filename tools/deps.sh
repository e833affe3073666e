# Sourced by the tools/*.sh entry points: installs missing Debian packages.
# Usage: need_packages pkg...   (apt-get as root, or through sudo when not root)
need_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "== installing: ${missing[*]}"
    if [ -z "${RECUR_APT_UPDATED:-}" ]; then
        $sudo apt-get update -qq || return 1
        export RECUR_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || return 1
}

# Packages every build of recur uses (the optional features included).
# cmake: the install check builds a CMake consumer (find_package(recur)).
RECUR_BUILD_PACKAGES="meson ninja-build gcc g++ pkg-config cmake python3 libcmocka-dev libhwloc-dev libbenchmark-dev libdnnl-dev"
# The mpi lane (librecur_mpi, docs/distributed.md): Open MPI's headers, library and mpirun.
RECUR_MPI_PACKAGES="libopenmpi-dev openmpi-bin"
