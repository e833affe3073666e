#!/usr/bin/env bash
# Packaging check, run as a meson test: installs the build into a scratch DESTDIR,
# then checks what a packager would: the SONAME, that only recur_* symbols are
# exported, that recur.pc works, and that a program builds and runs against the
# installed header and library alone.
#   check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
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
echo "installed: $soname, $(nm -D --defined-only "$lib" | wc -l) recur_* symbols, recur.pc (prefix $prefix)"
