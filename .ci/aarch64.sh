#!/usr/bin/env bash
# AArch64 lane: cross-build recur for 64-bit ARM and run the whole test suite under
# qemu user mode, once with the ISA the library picks (NEON) and once with
# RECUR_ISA=neon forced, so every test goes through the NEON kernel table.
#
#   bash .ci/aarch64.sh          (from the repo root; Debian 12 amd64, as root)
#
# Environment: BUILD_DIR (default build-aarch64), SKIP_APT=1 to skip apt-get,
# BUILDTYPE (default debugoptimized: asserts on, and fast enough under qemu).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-aarch64}
BUILDTYPE=${BUILDTYPE:-debugoptimized}
CROSS=cross/aarch64-linux-gnu.ini
lane_start=$SECONDS

step() { printf '\n==== aarch64: %s (%ds)\n' "$*" $((SECONDS - lane_start)); }

# ---------------------------------------------------------------- toolchain
# Optional features whose arm64 -dev package did not install are switched off.
feature_opts=()
if [[ ${SKIP_APT:-0} != 1 ]]; then
    step "installing the cross toolchain, qemu and arm64 libraries"
    if [[ $(id -u) != 0 ]]; then
        echo "error: run as root (apt-get), or set SKIP_APT=1 with the packages installed" >&2
        exit 2
    fi
    export DEBIAN_FRONTEND=noninteractive
    dpkg --add-architecture arm64
    apt-get update -q
    apt-get install -y -q --no-install-recommends \
        meson ninja-build pkgconf python3 \
        gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user \
        libc6-dev-arm64-cross libgomp1-arm64-cross
    # cmocka is required: without it the lane would test nothing.
    apt-get install -y -q --no-install-recommends libcmocka-dev:arm64
    # Multiarch -dev packages must match the amd64 versions of their dependencies;
    # if one cannot be co-installed the lane goes on without that feature.
    for pair in hwloc:libhwloc-dev benchmark:libbenchmark-dev; do
        opt=${pair%%:*} pkg=${pair#*:}
        if ! apt-get install -y -q --no-install-recommends "$pkg:arm64"; then
            echo "warning: $pkg:arm64 did not install; building with -D$opt=disabled" >&2
            feature_opts+=("-D$opt=disabled")
        fi
    done
fi

# ---------------------------------------------------------------- build
step "configuring $BUILD_DIR ($BUILDTYPE, -Dwerror=true)"
setup_args=(--cross-file "$CROSS" -Dbuildtype="$BUILDTYPE" -Dwerror=true -Dtests=enabled
            "${feature_opts[@]}")
if [[ -d $BUILD_DIR/meson-private ]]; then
    meson setup --wipe "$BUILD_DIR" "${setup_args[@]}"
else
    meson setup "$BUILD_DIR" "${setup_args[@]}"
fi

step "building"
ninja -C "$BUILD_DIR"

# ---------------------------------------------------------------- tests
# Counts the tests of one `meson test` run from its JSON log (tools/count_tests.py,
# the same counter as the other lanes).
count_tests() {
    python3 tools/count_tests.py "$BUILD_DIR/meson-logs/$1.json" || true
}

# One thread per context unless the test asks for more (tests/threads sets its own
# counts): a context never starts an OpenMP team then, which qemu may not run (below).
export RECUR_NUM_THREADS=${RECUR_NUM_THREADS:-1}
# qemu is slower than the native runs the per-test timeouts were set for.
test_args=(-C "$BUILD_DIR" --no-rebuild --print-errorlogs --timeout-multiplier 3)
status=0

rm -f "$BUILD_DIR"/meson-logs/testlog*.json

# Can this qemu run guest threads at all? qemu-user 7.2 on some hosts (this sandbox's
# among them) hangs in the first pthread_create/join of an AArch64 program, OpenMP or
# not. Where it does, the tests that start threads themselves (tests/threads: teams of
# 2-8 threads, the barrier's pthreads; nomem's 2-thread teams) cannot run here and are
# left out (said in the log); everything else runs with RECUR_NUM_THREADS=1 as above.
# QEMU_THREADS_TEST=1 forces it in; native ARM runs and the x86 lanes always run it.
qemu_runs_threads() {
    local dir
    dir=$(mktemp -d)
    printf '%s\n' '#include <pthread.h>' 'static void *f(void *a) { return a; }' \
        'int main(void) { pthread_t t; return pthread_create(&t, 0, f, 0) || pthread_join(t, 0); }' \
        >"$dir/probe.c"
    aarch64-linux-gnu-gcc -pthread "$dir/probe.c" -o "$dir/probe" &&
        timeout 20 qemu-aarch64 -L /usr/aarch64-linux-gnu "$dir/probe"
    local rc=$?
    rm -rf "$dir"
    return $rc
}
THREAD_TESTS="threads barrier shared nomem"
if [[ ${QEMU_THREADS_TEST:-} == "" ]]; then
    if qemu_runs_threads; then QEMU_THREADS_TEST=1; else QEMU_THREADS_TEST=0; fi
fi
[[ $QEMU_THREADS_TEST == 1 ]] ||
    echo "aarch64: this qemu cannot run guest threads (a 2-thread probe hangs): $THREAD_TESTS left out"
select_tests() {
    meson test -C "$BUILD_DIR" --list "$@" 2>/dev/null | sed -n 's/^[^ ]* \/ //p' |
        { if [[ $QEMU_THREADS_TEST == 1 ]]; then cat; else grep -vxF -e "${THREAD_TESTS// /$'\n'}"; fi; }
}
mapfile -t qemu_tests < <(select_tests)
mapfile -t quick_tests < <(select_tests --no-suite slow)
echo "aarch64: ${#qemu_tests[@]} tests selected"

step "meson test under qemu (ISA chosen by the library: NEON)"
meson test "${test_args[@]}" "${qemu_tests[@]}" || status=1
count_tests testlog

# Forcing RECUR_ISA=neon also checks detection: a context fails to create when the
# library does not find NEON. The course example (suite "slow", minutes under qemu)
# already ran above on the same table, so it is left out here.
step "meson test under qemu with RECUR_ISA=neon"
RECUR_ISA=neon meson test "${test_args[@]}" --logbase testlog-neon "${quick_tests[@]}" || status=1
count_tests testlog-neon

# ---------------------------------------------------------------- bench smoke
# Only that the benchmark binary runs on ARM: one shape, a few iterations.
# Timings under qemu mean nothing and are not reported.
bench=""
for f in "$BUILD_DIR"/bench/recur-bench "$BUILD_DIR"/bench/*; do
    if [[ -f $f && -x $f ]] && head -c 4 "$f" | grep -q ELF; then
        bench=$f
        break
    fi
done
if [[ -n $bench ]]; then
    step "benchmark smoke run: $bench"
    wrapper=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
    # One NEON recurrent step if listed (the smallest comes first), else the first one.
    list=$("${wrapper[@]}" "$bench" --benchmark_list_tests=true || true)
    first=$(grep -m 1 '^rnn_step/neon/' <<<"$list" || grep -m 1 '/neon/' <<<"$list" ||
            head -n 1 <<<"$list" || true)
    if [[ -n $first ]]; then
        # The exact name, as an anchored regex (escape its metacharacters).
        filter="^$(printf '%s' "$first" | sed 's/[][\.*^$+?(){}|]/\\&/g')\$"
        # Output (timings) is not shown: it must only run and report that benchmark.
        if out=$("${wrapper[@]}" "$bench" --benchmark_filter="$filter" \
                 --benchmark_min_time=0.01 2>&1) && grep -qF -- "$first" <<<"$out"; then
            echo "aarch64: benchmark smoke run of '$first': ok"
        else
            printf '%s\n' "$out" | tail -n 20
            echo "aarch64: benchmark smoke run of '$first': FAILED"
            status=1
        fi
    else
        echo "aarch64: $bench lists no benchmark; smoke run skipped"
    fi
else
    step "no benchmark binary in $BUILD_DIR/bench; smoke run skipped"
fi

# ---------------------------------------------------------------- librecur_mpi
# Built, not run (mpirun under qemu is not attempted). Debian's arm64 Open MPI cannot
# be installed beside the host's: apt would remove the amd64 openmpi-bin, libopenmpi-dev
# and libpmix-dev (they are not co-installable) and pull in flang and LLVM for arm64. So
# its two arm64 packages are unpacked into a private directory (dpkg -x; nothing is
# installed) and found through a second machine file. The library and the example's
# object are built; programs are not linked (libmpi's own arm64 dependencies, libevent
# and PMIx, are not there). Skipped, with a message, where the packages cannot be
# downloaded (SKIP_APT=1, offline); a failing build fails the lane.
mpi_dir=$BUILD_DIR-mpi
mpi_root=$(realpath -m "$BUILD_DIR-mpi-root")
build_mpi() {
    local pc=$mpi_root/usr/lib/aarch64-linux-gnu/openmpi/lib/pkgconfig
    local lib=$mpi_dir/src/mpi/librecur_mpi.so.0.1.0
    for deb in "$mpi_root"/debs/*.deb; do dpkg -x "$deb" "$mpi_root"; done
    sed -i "s|^prefix=.*|prefix=$mpi_root/usr|" "$pc"/*.pc
    printf '%s\n' '[properties]' \
        "pkg_config_libdir = ['$pc', '/usr/lib/aarch64-linux-gnu/pkgconfig', '/usr/share/pkgconfig']" \
        >"$mpi_root/mpi.ini"
    rm -rf "$mpi_dir"
    meson setup "$mpi_dir" --cross-file "$CROSS" --cross-file "$mpi_root/mpi.ini" \
        -Dbuildtype="$BUILDTYPE" -Dwerror=true -Dmpi=enabled -Dtests=disabled \
        -Dbenchmark=disabled -Dhwloc=disabled -Dpython=disabled >"$mpi_dir.setup.log" 2>&1 ||
        { tail -n 30 "$mpi_dir.setup.log"; return 1; }
    ninja -C "$mpi_dir" "${lib#"$mpi_dir"/}" examples/cuisine_mpi.p/cuisine_mpi.c.o \
        >"$mpi_dir.build.log" 2>&1 || { tail -n 30 "$mpi_dir.build.log"; return 1; }
    aarch64-linux-gnu-objdump -f "$lib" | grep -q "architecture: aarch64" ||
        { echo "$lib is not an AArch64 library"; return 1; }
    echo "aarch64: librecur_mpi built ($(aarch64-linux-gnu-objdump -p "$lib" | awk '/SONAME/ {print $2}'))"
}
if [[ ${SKIP_APT:-0} == 1 ]]; then
    echo "aarch64: SKIP_APT=1: librecur_mpi not built (it needs Debian's arm64 Open MPI)"
else
    step "librecur_mpi for arm64 (Open MPI unpacked into $mpi_root)"
    rm -rf "$mpi_root"
    mkdir -p "$mpi_root/debs"
    if (cd "$mpi_root/debs" && apt-get download -q libopenmpi-dev:arm64 libopenmpi3:arm64); then
        build_mpi || { echo "aarch64: librecur_mpi build FAILED"; status=1; }
    else
        echo "aarch64: the arm64 Open MPI packages could not be downloaded: librecur_mpi not built"
    fi
fi

step "done, status $status"
exit $status
