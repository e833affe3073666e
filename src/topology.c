/*
 * Machine topology, read once per process: physical cores (SMT siblings counted
 * once), L1d/L2/L3 sizes and the cores sharing the L3, NUMA nodes. Through hwloc
 * when the build has it, else from sysconf and /sys/devices/system/cpu. (The cores
 * a process may use and thread binding: src/cpu_mask.c.)
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "topology.h"

#ifdef RECUR_HAVE_HWLOC
#include <hwloc.h>
#endif

static recur_machine machine;
static pthread_once_t machine_once = PTHREAD_ONCE_INIT;

#ifdef RECUR_HAVE_HWLOC
static hwloc_topology_t topo; /* during detection only */

static size_t cache_size(hwloc_obj_type_t type)
{
    hwloc_obj_t o = hwloc_get_obj_by_type(topo, type, 0);
    return o && o->attr ? (size_t)o->attr->cache.size : 0;
}

static int detect_hwloc(recur_machine *m)
{
    if (hwloc_topology_init(&topo) != 0)
        return 0;
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return 0;
    }
    int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    int pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    int numa = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    m->cores = cores > 0 ? (size_t)cores : (pus > 0 ? (size_t)pus : 1);
    m->logical_cpus = pus > 0 ? (size_t)pus : m->cores;
    m->numa_nodes = numa > 0 ? (size_t)numa : 1;
    m->l1d_bytes = cache_size(HWLOC_OBJ_L1CACHE);
    m->l2_bytes = cache_size(HWLOC_OBJ_L2CACHE);
    m->l3_bytes = cache_size(HWLOC_OBJ_L3CACHE);
    hwloc_obj_t l3 = hwloc_get_obj_by_type(topo, HWLOC_OBJ_L3CACHE, 0);
    if (l3 && l3->cpuset) {
        int n = hwloc_get_nbobjs_inside_cpuset_by_type(topo, l3->cpuset, HWLOC_OBJ_CORE);
        m->l3_cores = n > 0 ? (size_t)n : 0;
    }
    m->hwloc = 1;
    hwloc_topology_destroy(topo);
    return 1;
}
#endif

long recur_sysfs_long(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    if (fscanf(f, "%ld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

/* A cache "size" file reads like "1024K". */
static size_t read_cache_size(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long v = 0;
    char unit = 0;
    int got = fscanf(f, "%lu%c", &v, &unit);
    fclose(f);
    if (got < 1)
        return 0;
    if (unit == 'K')
        v *= 1024UL;
    else if (unit == 'M')
        v *= 1024UL * 1024UL;
    return (size_t)v;
}

/* CPUs in a sysfs list like "0-7,64-71"; 0 when unreadable. */
static size_t count_cpu_list(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    long lo, hi;
    int c;
    while (fscanf(f, "%ld", &lo) == 1) {
        hi = lo;
        c = fgetc(f);
        if (c == '-') {
            if (fscanf(f, "%ld", &hi) != 1)
                break;
            c = fgetc(f);
        }
        if (hi >= lo)
            n += (size_t)(hi - lo + 1);
        if (c != ',')
            break;
    }
    fclose(f);
    return n;
}

/* Runs after detect_cores_sysfs: the L3's CPU list counts logical CPUs, so SMT
 * siblings are divided out. */
static void detect_caches_sysfs(recur_machine *m)
{
    char path[128], type[32];
    for (int i = 0; i < 16; i++) {
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        long level = recur_sysfs_long(path);
        if (level < 0)
            break;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        FILE *f = fopen(path, "r");
        if (!f || fscanf(f, "%31s", type) != 1)
            type[0] = 0;
        if (f)
            fclose(f);
        if (strcmp(type, "Instruction") == 0)
            continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        size_t bytes = read_cache_size(path);
        if (level == 1)
            m->l1d_bytes = bytes;
        else if (level == 2)
            m->l2_bytes = bytes;
        else if (level == 3) {
            m->l3_bytes = bytes;
            snprintf(path, sizeof path,
                     "/sys/devices/system/cpu/cpu0/cache/index%d/shared_cpu_list", i);
            size_t cpus = count_cpu_list(path);
            size_t smt = m->cores && m->logical_cpus >= m->cores ? m->logical_cpus / m->cores : 1;
            m->l3_cores = cpus ? (cpus + smt - 1) / smt : 0;
        }
    }
#ifdef _SC_LEVEL1_DCACHE_SIZE
    /* glibc reads CPUID; used where sysfs has no cache directory. */
    long v;
    if (!m->l1d_bytes && (v = sysconf(_SC_LEVEL1_DCACHE_SIZE)) > 0)
        m->l1d_bytes = (size_t)v;
    if (!m->l2_bytes && (v = sysconf(_SC_LEVEL2_CACHE_SIZE)) > 0)
        m->l2_bytes = (size_t)v;
    if (!m->l3_bytes && (v = sysconf(_SC_LEVEL3_CACHE_SIZE)) > 0)
        m->l3_bytes = (size_t)v;
#endif
}

/* Physical cores: distinct (package, core) pairs over the online CPUs. */
static void detect_cores_sysfs(recur_machine *m)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    m->logical_cpus = n > 0 ? (size_t)n : 1;
    m->cores = 0;
    size_t cap = m->logical_cpus;
    long *seen = malloc(cap * 2 * sizeof(long));
    char path[128];
    for (size_t cpu = 0; seen && cpu < 4096 && m->cores < cap; cpu++) {
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%zu/topology/core_id", cpu);
        long core = recur_sysfs_long(path);
        snprintf(path, sizeof path,
                 "/sys/devices/system/cpu/cpu%zu/topology/physical_package_id", cpu);
        long pkg = recur_sysfs_long(path);
        if (core < 0 || pkg < 0)
            continue;
        int dup = 0;
        for (size_t i = 0; i < m->cores && !dup; i++)
            dup = seen[2 * i] == pkg && seen[2 * i + 1] == core;
        if (!dup) {
            seen[2 * m->cores] = pkg;
            seen[2 * m->cores + 1] = core;
            m->cores++;
        }
    }
    free(seen);
    if (m->cores == 0)
        m->cores = m->logical_cpus;
    m->numa_nodes = 0;
    for (int node = 0; node < 4096; node++) {
        snprintf(path, sizeof path, "/sys/devices/system/node/node%d", node);
        if (access(path, F_OK) != 0)
            break;
        m->numa_nodes++;
    }
    if (m->numa_nodes == 0)
        m->numa_nodes = 1;
}

static void detect(void)
{
    recur_cpu_identify(&machine);
#ifdef RECUR_HAVE_HWLOC
    if (detect_hwloc(&machine))
        return;
#endif
    detect_cores_sysfs(&machine);
    detect_caches_sysfs(&machine);
}

const recur_machine *recur_machine_get(void)
{
    pthread_once(&machine_once, detect);
    return &machine;
}
