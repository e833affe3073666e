#!/usr/bin/env bash
# Builds recur and runs its test suite; installs missing Debian packages first.
#
#   bash tools/run-tests.sh [lane ...]
#
# Lanes (default: all that apply to this machine):
#   debug     debug build, warnings as errors, every optional feature on
#   sanitize  the same suite built with -Db_sanitize=address,undefined
#   minimal   no OpenMP, no hwloc, no benchmarks: the portable core alone
#   aarch64   (x86-64 hosts) cross build for 64-bit ARM, suite under qemu (.ci/aarch64.sh)
#   python    release build installed into build-python/inst; pytest tests/python (the
#             Python package against torch.nn.RNN and the C library, the course's example
#             from Python, the installed package) with Debian's python3-torch and -numpy
# Ends with "N passed, N failed, N skipped" counted from the meson test logs and the
# pytest JUnit report; exits non-zero when any test failed.
set -uo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh

lanes=("$@")
if [ ${#lanes[@]} -eq 0 ]; then
    lanes=(debug sanitize minimal python)
    [ "$(uname -m)" = x86_64 ] && lanes+=(aarch64)
fi

need_packages $RECUR_BUILD_PACKAGES || { echo "package installation failed"; exit 2; }

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1
logs=()
status=0

# setup_and_test DIR meson-options...
setup_and_test() {
    local dir=$1
    shift
    # Counted even when the lane fails to build: a missing log is a failure.
    rm -f "$dir/meson-logs/testlog.json"
    logs+=("$dir/meson-logs/testlog.json")
    echo "== lane $lane: configuring $dir"
    if ! meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1 &&
       ! { rm -rf "$dir" && meson setup "$dir" "$@" >"$dir.setup.log" 2>&1; }; then
        cat "$dir.setup.log"
        echo "configure failed"
        status=1
        return
    fi
    echo "== lane $lane: building"
    if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
        tail -n 60 "$dir.build.log"
        echo "build failed"
        status=1
        return
    fi
    echo "== lane $lane: testing"
    meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier "${TIMEOUT_MULT:-1}" ${TEST_ARGS:-} || status=1
}

# The python lane: Debian's interpreter (where python3-torch is installed), the release
# library built and installed here, pytest's JUnit report counted with the meson logs
# (a lane that fails to build or to run pytest leaves no report: one failure).
python_lane() {
    local dir=build-python py
    local xml=$dir/pytest.xml
    rm -f "$xml"
    logs+=("$xml")
    need_packages python3-numpy python3-pytest python3-torch ||
        { echo "package installation failed"; status=1; return; }
    py=/usr/bin/python3
    [ -x $py ] || py=$(command -v python3)
    echo "== lane python: configuring $dir"
    local opts=(--buildtype=release -Dtests=disabled -Dbenchmark=disabled -Ddnnl=disabled
                -Dpython=enabled "--prefix=$PWD/$dir/inst")
    if ! meson setup --reconfigure "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 &&
       ! { rm -rf "$dir" && meson setup "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1; }; then
        cat "$dir.setup.log"
        echo "configure failed"
        status=1
        return
    fi
    echo "== lane python: building and installing into $dir/inst"
    rm -rf "$dir/inst"
    if ! { ninja -C "$dir" && meson install -C "$dir" --no-rebuild; } >"$dir.build.log" 2>&1; then
        tail -n 60 "$dir.build.log"
        echo "build failed"
        status=1
        return
    fi
    echo "== lane python: pytest ($($py --version 2>&1))"
    RECUR_LIBRARY=$PWD/$dir/librecur.so.0 RECUR_TEST_PREFIX=$PWD/$dir/inst \
        PYTHONPATH=$PWD/python PYTHONDONTWRITEBYTECODE=1 \
        $py -m pytest -p no:cacheprovider -q -rfEs --junitxml="$xml" tests/python || status=1
}

for lane in "${lanes[@]}"; do
    case $lane in
    debug)
        setup_and_test build-debug --buildtype=debug -Dwerror=true -Dtests=enabled \
            -Dopenmp=enabled -Dhwloc=enabled -Dbenchmark=enabled ;;
    sanitize)
        # The course example (suite "slow") already ran in the debug lane.
        TEST_ARGS="--no-suite slow" TIMEOUT_MULT=4 setup_and_test build-sanitize --buildtype=debug -Dwerror=true \
            -Dtests=enabled -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmark=disabled \
            -Ddnnl=disabled ;;
    minimal)
        setup_and_test build-minimal --buildtype=debugoptimized -Dwerror=true -Dtests=enabled \
            -Dopenmp=disabled -Dhwloc=disabled -Dbenchmark=disabled -Ddnnl=disabled ;;
    aarch64)
        echo "== lane aarch64"
        rm -f build-aarch64/meson-logs/testlog*.json
        bash .ci/aarch64.sh || status=1
        logs+=(build-aarch64/meson-logs/testlog.json build-aarch64/meson-logs/testlog-neon.json) ;;
    python)
        python_lane ;;
    *)
        echo "unknown lane: $lane"
        exit 2 ;;
    esac
done

echo "== summary"
python3 tools/count_tests.py "${logs[@]}" || status=1
exit $status
