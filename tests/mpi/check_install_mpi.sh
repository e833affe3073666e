#!/usr/bin/env bash
# Packaging check of librecur_mpi, run as a meson test (tools/check_install.sh does the
# same for librecur): installs the build into a scratch DESTDIR, then checks the SONAME,
# that only recur_mpi_* symbols are exported, that recur_mpi.pc gives what a consumer
# needs (recur and MPI included: recur_mpi.h includes mpi.h), and that a program built
# against the installed files alone, with the plain C compiler, runs on 2 ranks; and that
# the header compiles as C++.
#   check_install_mpi.sh BUILD_DIR SOURCE_DIR RUN_MPI
set -euo pipefail
build=$1 src=$(cd "$2" && pwd) run_mpi=$3
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
lib=$(find "$dest" -name 'librecur_mpi.so.*.*.*' | head -n 1)
[ -n "$lib" ] || { echo "librecur_mpi.so.X.Y.Z not installed"; exit 1; }
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
[ "$soname" = librecur_mpi.so.0 ] || { echo "SONAME is '$soname'"; exit 1; }
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^recur_mpi_' || true)
[ -z "$bad" ] || { echo "exported symbols outside recur_mpi_*: $bad"; exit 1; }
needed=$(objdump -p "$lib" | awk '/NEEDED/ {print $2}' | tr '\n' ' ')
case " $needed " in *" librecur.so.0 "*) ;; *) echo "does not need librecur.so.0: $needed"; exit 1 ;; esac
[ -n "$(find "$dest" -name recur_mpi.h)" ] || { echo "recur_mpi.h not installed"; exit 1; }

# recur.pc and recur_mpi.pc from DESTDIR, MPI's own .pc from the system
pcdir=$(dirname "$(find "$dest" -name recur_mpi.pc | head -n 1)")
sys_pc=$(pkg-config --variable pc_path pkg-config)
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$sys_pc
flags=$(pkg-config --cflags --libs recur_mpi)
# Only DESTDIR's files are ours: prefix the install's paths with it (not MPI's).
prefix=$(pkg-config --variable prefix recur_mpi)
flags=${flags//-I$prefix/-I$dest$prefix}
flags=${flags//-L$prefix/-L$dest$prefix}
cat >"$dest/consumer.c" <<'C'
#include <stdio.h>
#include "recur_mpi.h"
int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    recur_mpi *mpi;
    if (recur_mpi_create(&mpi, MPI_COMM_WORLD) != RECUR_OK)
        return 1;
    float x = (float)(recur_mpi_rank(mpi) + 1), *t[1] = {&x};
    size_t n = 1;
    recur_mpi_options o = recur_mpi_options_default();
    o.op = RECUR_MPI_SUM;
    int ok = recur_mpi_allreduce(mpi, 1, t, &n, &o) == RECUR_OK && x == 3.0f;
    if (recur_mpi_rank(mpi) == 0)
        printf("consumer: recur %s, %d ranks, sum %g\n", recur_version_string(),
               recur_mpi_size(mpi), (double)x);
    recur_mpi_destroy(mpi);
    MPI_Finalize();
    return ok ? 0 : 1;
}
C
cc -std=c11 -Wall -Wextra -Werror "$dest/consumer.c" $flags -o "$dest/consumer"
needed=$(objdump -p "$dest/consumer" | awk '/NEEDED/ && /recur/ {print $2}' | tr '\n' ' ')
[ "$needed" = "librecur_mpi.so.0 librecur.so.0 " ] ||
    [ "$needed" = "librecur.so.0 librecur_mpi.so.0 " ] ||
    { echo "consumer needs '$needed'"; exit 1; }
LD_LIBRARY_PATH=$(dirname "$lib") bash "$run_mpi" 2 "$dest/consumer"

# C++: the header is extern "C" and compiles with -Wall -Wextra -Werror (Open MPI's
# deprecated C++ bindings, which mpi.h pulls in for C++, left out: they do not)
if command -v c++ >/dev/null; then
    printf '#include "recur_mpi.h"\nint main() { return recur_mpi_size(nullptr) == 1 ? 0 : 1; }\n' \
        >"$dest/consumer.cc"
    c++ -std=c++11 -Wall -Wextra -Werror -DOMPI_SKIP_MPICXX "$dest/consumer.cc" $flags -o "$dest/consumer_cc"
    LD_LIBRARY_PATH=$(dirname "$lib") "$dest/consumer_cc"
    echo "C++ consumer: built and ran"
fi
echo "installed: $soname, $(nm -D --defined-only "$lib" | wc -l) recur_mpi_* symbols, recur_mpi.pc (Requires: $(pkg-config --print-requires recur_mpi | tr '\n' ' '))"
