#!/usr/bin/env bash
# Runs a test program on NP ranks of this machine with mpirun, set up to work in a
# container: as root (--allow-run-as-root), without ssh (Open MPI's local-only "isolated"
# launcher where it has one), with shared memory between the ranks but without
# cross-memory attach (often not permitted in containers) and no network transport.
#
#   run_mpi.sh NP [--bind-to core] PROGRAM [ARGS...]
#
# Default: no binding and --oversubscribe (3 ranks on 2 cores are fine). --bind-to core
# binds each rank to one core, as a launcher on a cluster would; it needs NP CPUs in
# this process's affinity mask and exits 77 (meson: skipped) where there are fewer.
set -u
np=$1
shift
bind=none
if [ "${1:-}" = --bind-to ]; then
    bind=$2
    shift 2
fi
launcher=$(command -v mpirun || command -v mpiexec) ||
    { echo "run_mpi.sh: no mpirun or mpiexec on PATH (Debian: openmpi-bin)"; exit 1; }

args=(-np "$np")
[ "$(id -u)" -eq 0 ] && args+=(--allow-run-as-root)
if [ "$bind" = none ]; then
    args+=(--oversubscribe --bind-to none)
else
    cpus=$(nproc)
    if [ "$cpus" -lt "$np" ]; then
        echo "run_mpi.sh: $np ranks bound to cores need $np CPUs, this process has $cpus: skipped"
        exit 77
    fi
    args+=(--bind-to "$bind" --map-by core)
fi

# Settings already in the environment win (e.g. OMPI_MCA_btl_vader_single_copy_mechanism=cma
# where cross-memory attach is allowed).
if "$launcher" --version 2>/dev/null | grep -q "Open MPI"; then
    export OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader} OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
    export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
    # waiting ranks yield the core: the tests share the machine with other jobs
    export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
    if command -v ompi_info >/dev/null && ompi_info --parsable 2>/dev/null | grep -q "mca:plm:isolated"; then
        export OMPI_MCA_plm=${OMPI_MCA_plm:-isolated}
    fi
fi
exec "$launcher" "${args[@]}" "$@"
