/*
 * The physical cores this process may run on, from its CPU affinity mask (set by
 * taskset, numactl, an MPI launcher's --bind-to, a container's cpuset): the default
 * thread count counts them, and thread binding spreads a team over them, never over
 * cores outside the mask. A core is a distinct (package, core id) pair of sysfs, read
 * once per process; where sysfs does not say, each logical CPU counts as a core.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "internal.h"
#include "cpu_mask.h"
#include "topology.h"

/* sysfs topology id of a logical CPU; -1 when unreadable. */
static long topology_id(int cpu, const char *what)
{
    char path[128];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/%s", cpu, what);
    return recur_sysfs_long(path);
}

/* core_of[cpu]: the first logical CPU of cpu's physical core (itself when unknown). */
static int core_of[CPU_SETSIZE];
static pthread_once_t cores_once = PTHREAD_ONCE_INIT;

static void read_cores(void)
{
    static long pkg[CPU_SETSIZE], core[CPU_SETSIZE];
    long conf = sysconf(_SC_NPROCESSORS_CONF);
    int ncpu = conf > 0 && conf < CPU_SETSIZE ? (int)conf : CPU_SETSIZE;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        core_of[cpu] = cpu;
    for (int cpu = 0; cpu < ncpu; cpu++) {
        pkg[cpu] = topology_id(cpu, "physical_package_id");
        core[cpu] = pkg[cpu] < 0 ? -1 : topology_id(cpu, "core_id");
        if (pkg[cpu] < 0 || core[cpu] < 0)
            continue;
        for (int c = 0; c < cpu; c++)
            if (pkg[c] == pkg[cpu] && core[c] == core[cpu]) {
                core_of[cpu] = c;
                break;
            }
    }
}

/* The physical cores with a CPU in mask, counted in order of their first CPU; with core
 * non-NULL, also core k's CPUs that are in mask (empty when there is no core k). No
 * allocation: it runs on every team thread of a bound call. */
static size_t nth_core(const cpu_set_t *mask, size_t k, cpu_set_t *core)
{
    pthread_once(&cores_once, read_cores);
    cpu_set_t seen; /* first CPUs of the cores met so far */
    CPU_ZERO(&seen);
    size_t n = 0;
    int head_k = -1;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, mask) || CPU_ISSET(core_of[cpu], &seen))
            continue;
        CPU_SET(core_of[cpu], &seen);
        if (n++ == k)
            head_k = core_of[cpu];
    }
    if (core) {
        CPU_ZERO(core);
        for (int cpu = 0; cpu < CPU_SETSIZE && head_k >= 0; cpu++)
            if (CPU_ISSET(cpu, mask) && core_of[cpu] == head_k)
                CPU_SET(cpu, core);
    }
    return n;
}

size_t recur_cores_allowed(void)
{
    cpu_set_t mask;
    return sched_getaffinity(0, sizeof mask, &mask) == 0 ? nth_core(&mask, SIZE_MAX, NULL) : 0;
}

size_t recur_mask_cpus(void)
{
    cpu_set_t mask;
    return sched_getaffinity(0, sizeof mask, &mask) == 0 ? (size_t)CPU_COUNT(&mask) : 0;
}

int recur_binding_begin(recur_binding *b)
{
    if (sched_getaffinity(0, sizeof b->caller, &b->caller) != 0)
        return 0;
    b->ncores = nth_core(&b->caller, SIZE_MAX, NULL);
    return b->ncores > 0;
}

void recur_binding_apply(const recur_binding *b, size_t i)
{
    cpu_set_t core;
    nth_core(&b->caller, i % b->ncores, &core);
    sched_setaffinity(0, sizeof core, &core);
}

void recur_binding_end(const recur_binding *b)
{
    sched_setaffinity(0, sizeof b->caller, &b->caller);
}
