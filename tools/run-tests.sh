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
#   fuzz      clang libFuzzer build (-Dfuzz=enabled, ASan + UBSan, debug: clang -O1/-O2
#             with ASan and coverage takes many minutes on the AVX-512 kernels) of
#             tests/fuzz/fuzz_api; a bounded run of 25 s per ISA of the CPU from the seed
#             corpus (docs/fuzzing.md). About 65 s on a 2-core machine (build 10 s,
#             scalar + avx2 runs 2 x 26 s; +26 s where the CPU has AVX-512).
#   tsan      clang ThreadSanitizer build of the concurrency tests (tests/threads) with
#             clang's libomp and libarcher; suppressions in tests/threads/tsan.supp.
#             About 15-25 s on a 2-core machine (build and tests).
#   python    release build installed into build-python/inst; pytest tests/python (the
#             Python package against torch.nn.RNN and the C library, the course's example
#             from Python, the installed package) with Debian's python3-torch and -numpy
#   mpi       librecur_mpi (docs/distributed.md) with Debian's Open MPI: debugoptimized
#             build-mpi, -Dmpi=enabled, only the MPI suite (tests/mpi, under mpirun on 2
#             and 3 ranks). About 20 s of tests on a 2-core machine, plus the build
# The debug lane also runs a few tests on the scalar path under valgrind memcheck
# (testlog-valgrind.json; about 15 s on a 2-core machine).
# Ends with "N passed, N failed, N skipped" counted from the meson test logs and the
# pytest JUnit report; exits non-zero when any test failed.
set -uo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh

lanes=("$@")
if [ ${#lanes[@]} -eq 0 ]; then
    lanes=(debug sanitize minimal fuzz tsan python mpi)
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

# valgrind memcheck of the scalar path (RECUR_ISA=scalar) on a few quick tests of a
# built debug directory; its own log, testlog-valgrind.json.
valgrind_run() {
    local dir=$1
    rm -f "$dir/meson-logs/testlog-valgrind.json"
    logs+=("$dir/meson-logs/testlog-valgrind.json")
    [ -f "$dir/build.ninja" ] || return
    need_packages valgrind || { echo "package installation failed"; status=1; return; }
    echo "== lane $lane: valgrind memcheck, scalar path"
    # meson names the log after the wrapper: testlog-valgrind.json
    RECUR_ISA=scalar meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 \
        --wrapper "valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect" \
        hand api_errors model_errors onnx training gradcheck || status=1
}

# ThreadSanitizer: only the concurrency tests (tests/threads) are built and run.
tsan_lane() {
    local dir=build-tsan
    rm -f "$dir/meson-logs/testlog.json"
    logs+=("$dir/meson-logs/testlog.json")
    need_packages clang libomp-dev || { echo "package installation failed"; status=1; return; }
    local archer
    archer="$(dirname "$(dirname "$(dirname "$(clang -print-resource-dir)")")")/lib/libarcher.so"
    [ -f "$archer" ] || archer=$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | tail -n 1)
    echo "== lane tsan: configuring $dir"
    local opts=(--buildtype=debug -Db_sanitize=thread -Db_lundef=false -Dtests=enabled
                -Dopenmp=enabled -Dbenchmark=disabled -Ddnnl=disabled -Dpython=disabled)
    if ! CC=clang meson setup --reconfigure "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 &&
       ! { rm -rf "$dir" && CC=clang meson setup "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1; }; then
        cat "$dir.setup.log"
        echo "configure failed"
        status=1
        return
    fi
    echo "== lane tsan: building tests/threads"
    local targets=(tests/threads/test_threads tests/threads/test_barrier tests/threads/test_shared
                   tests/threads/tsan_canary)
    if ! ninja -C "$dir" "${targets[@]}" >"$dir.build.log" 2>&1; then
        tail -n 60 "$dir.build.log"
        echo "build failed"
        status=1
        return
    fi
    echo "== lane tsan: testing (libarcher: ${archer:-not found})"
    OMP_TOOL_LIBRARIES=$archer \
    TSAN_OPTIONS="suppressions=$PWD/tests/threads/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
        meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 \
        threads barrier shared tsan-canary || status=1
}

for lane in "${lanes[@]}"; do
    case $lane in
    debug)
        setup_and_test build-debug --buildtype=debug -Dwerror=true -Dtests=enabled \
            -Dopenmp=enabled -Dhwloc=enabled -Dbenchmark=enabled
        valgrind_run build-debug ;;
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
    fuzz)
        # without clang the configure step fails and the lane counts as one failure
        need_packages clang libclang-rt-dev libomp-dev ||
            { echo "package installation failed"; status=1; }
        CC=clang TEST_ARGS="--suite fuzz" setup_and_test build-fuzz --buildtype=debug \
            -Dfuzz=enabled -Db_sanitize=address,undefined -Db_lundef=false -Dtests=disabled \
            -Dopenmp=enabled -Dbenchmark=disabled -Ddnnl=disabled -Dpython=disabled ;;
    tsan)
        tsan_lane ;;
    python)
        python_lane ;;
    mpi)
        # without Open MPI the configure step fails (-Dmpi=enabled): one failure
        need_packages $RECUR_MPI_PACKAGES || { echo "package installation failed"; status=1; }
        TEST_ARGS="--suite mpi" setup_and_test build-mpi --buildtype=debugoptimized -Dwerror=true \
            -Dmpi=enabled -Dtests=enabled -Dbenchmark=disabled -Ddnnl=disabled -Dpython=disabled ;;
    *)
        echo "unknown lane: $lane"
        exit 2 ;;
    esac
done

echo "== summary"
python3 tools/count_tests.py "${logs[@]}" || status=1
exit $status
