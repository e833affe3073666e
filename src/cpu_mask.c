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
#include <stdlib.h>
#include <unistd.h>
#include "internal.h"
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

/* The physical cores with a CPU in mask, in order of their first CPU: cores[i] holds
 * core i's CPUs that are in the mask (cores may be NULL: count only). */
static size_t group_by_core(const cpu_set_t *mask, cpu_set_t *cores)
{
    pthread_once(&cores_once, read_cores);
    static const int none = -1;
    int slot[CPU_SETSIZE]; /* first CPU of a core -> its index in cores */
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        slot[cpu] = none;
    size_t n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, mask))
            continue;
        int head = core_of[cpu];
        if (slot[head] == none) {
            slot[head] = (int)n;
            if (cores)
                CPU_ZERO(&cores[n]);
            n++;
        }
        if (cores)
            CPU_SET(cpu, &cores[slot[head]]);
    }
    return n;
}

size_t recur_cores_allowed(void)
{
    cpu_set_t mask;
    return sched_getaffinity(0, sizeof mask, &mask) == 0 ? group_by_core(&mask, NULL) : 0;
}

size_t recur_mask_cpus(void)
{
    cpu_set_t mask;
    return sched_getaffinity(0, sizeof mask, &mask) == 0 ? (size_t)CPU_COUNT(&mask) : 0;
}

struct recur_binding {
    cpu_set_t caller; /* the calling thread's mask, restored after the team */
    size_t ncores;
    cpu_set_t cores[]; /* one set per core of the caller's mask */
};

recur_binding *recur_binding_begin(void)
{
    cpu_set_t mask;
    if (sched_getaffinity(0, sizeof mask, &mask) != 0)
        return NULL;
    size_t n = group_by_core(&mask, NULL);
    recur_binding *b = n ? malloc(sizeof *b + n * sizeof(cpu_set_t)) : NULL;
    if (!b)
        return NULL;
    b->caller = mask;
    b->ncores = group_by_core(&mask, b->cores);
    return b;
}

int recur_binding_apply(const recur_binding *b, size_t i)
{
    return b && sched_setaffinity(0, sizeof(cpu_set_t), &b->cores[i % b->ncores]) == 0;
}

void recur_binding_end(recur_binding *b)
{
    if (!b)
        return;
    sched_setaffinity(0, sizeof b->caller, &b->caller);
    free(b);
}
