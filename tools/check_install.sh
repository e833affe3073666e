#!/usr/bin/env bash
# Packaging check, run as a meson test: installs the build into a scratch DESTDIR,
# then checks what a packager would: the SONAME, that only recur_* symbols are
# exported, that recur.pc works, and that a program builds and runs against the
# installed header and library alone: with pkg-config, and from a tiny CMake project
# through both find_package(recur) (recurConfig.cmake, the recur::recur target) and
# pkg_check_modules. CMake is installed when missing (tools/deps.sh); where it cannot
# be, the CMake half is skipped with a message.
#   check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$(cd "$2" && pwd)
. "$src/tools/deps.sh"
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
prefix=$(meson introspect "$build" --buildoptions |
    python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
lib=$(find "$dest" -name 'librecur.so.*.*.*' | head -n 1)
[ -n "$lib" ] || { echo "librecur.so.X.Y.Z not installed"; exit 1; }
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
[ "$soname" = librecur.so.0 ] || { echo "SONAME is '$soname'"; exit 1; }
[ -n "$(find "$dest" -name librecur.a)" ] || { echo "librecur.a not installed"; exit 1; }
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^recur_' || true)
[ -z "$bad" ] || { echo "exported symbols outside recur_*: $bad"; exit 1; }
pcdir=$(dirname "$(find "$dest" -name recur.pc | head -n 1)")
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs recur)
cc -std=c11 -Wall -Werror "$src/examples/minimal.c" $flags -o "$dest/minimal"
LD_LIBRARY_PATH=$(dirname "$lib") "$dest/minimal"

# The CMake consumer: the same program linked through recur::recur and through recur.pc.
# recurConfig.cmake must point into DESTDIR (paths from its own location, never the
# configured prefix), refuse another major version, and the programs must need the
# SONAME, not a path.
cmake_note="CMake consumer skipped: cmake is not installed and could not be installed"
if command -v cmake >/dev/null || need_packages cmake; then
    config=$(find "$dest" -name recurConfig.cmake | head -n 1)
    [ -n "$config" ] || { echo "recurConfig.cmake not installed"; exit 1; }
    version=$(meson introspect "$build" --projectinfo |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
    want=${version%.*} other_major=$((${version%%.*} + 1))
    mkdir "$dest/consumer"
    cat >"$dest/consumer/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.13)
project(recur_consumer C)
find_package(recur $other_major QUIET)
if(recur_FOUND)
  message(FATAL_ERROR "find_package(recur $other_major) accepted recur \${recur_VERSION}")
endif()
find_package(recur $want REQUIRED)
get_target_property(loc recur::recur IMPORTED_LOCATION)
get_target_property(inc recur::recur INTERFACE_INCLUDE_DIRECTORIES)
foreach(p IN ITEMS "\${loc}" "\${inc}")
  if(NOT p MATCHES "^$dest/")
    message(FATAL_ERROR "recur::recur points outside the installed tree: \${p}")
  endif()
endforeach()
add_executable(minimal_cmake "$src/examples/minimal.c")
target_link_libraries(minimal_cmake PRIVATE recur::recur)
find_package(PkgConfig REQUIRED)
pkg_check_modules(RECUR REQUIRED IMPORTED_TARGET recur)
add_executable(minimal_pc "$src/examples/minimal.c")
target_link_libraries(minimal_pc PRIVATE PkgConfig::RECUR)
EOF
    # hwloc.pc (Requires.private) adds -I/usr/include, which the sysroot turns into a
    # directory that does not exist; it is the sysroot's system directory: filtered.
    if ! { PKG_CONFIG_SYSTEM_INCLUDE_PATH=$dest/usr/include \
           cmake -S "$dest/consumer" -B "$dest/consumer/build" -DCMAKE_PREFIX_PATH="$dest$prefix" \
               -DCMAKE_C_FLAGS="-std=c11 -Wall -Werror" &&
           cmake --build "$dest/consumer/build"; } >"$dest/consumer/log" 2>&1; then
        cat "$dest/consumer/log"
        echo "CMake consumer failed"
        exit 1
    fi
    for exe in minimal_cmake minimal_pc; do
        needed=$(objdump -p "$dest/consumer/build/$exe" | awk '/NEEDED/ && /recur/ {print $2}')
        [ "$needed" = librecur.so.0 ] || { echo "$exe needs '$needed', not librecur.so.0"; exit 1; }
        LD_LIBRARY_PATH=$(dirname "$lib") "$dest/consumer/build/$exe" >/dev/null
    done
    cmake_note="CMake consumer ($(cmake --version | head -n 1)): find_package(recur $want) and pkg_check_modules: built and ran"
fi
echo "$cmake_note"
echo "installed: $soname, $(nm -D --defined-only "$lib" | wc -l) recur_* symbols, recur.pc, recurConfig.cmake (prefix $prefix)"
