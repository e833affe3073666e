/*
 * The machine, detected once per process: cores, caches and how many cores share
 * the L3 (src/topology.c), and which CPU it is (src/cpu_ident.c). The GEMM blocks
 * (src/gemm.c) and the step plans size themselves from it. Plain C without
 * atomics, so the C++ benchmark harness can read it too.
 */
#ifndef RECUR_TOPOLOGY_H
#define RECUR_TOPOLOGY_H

#include <stddef.h>

typedef struct recur_machine {
    size_t cores, logical_cpus, numa_nodes;
    /* L1d and L2 of one core, one L3 instance; 0 = unknown */
    size_t l1d_bytes, l2_bytes, l3_bytes;
    size_t l3_cores; /* physical cores sharing one L3; 0 = unknown */
    int hwloc;       /* 1: detected through hwloc */
    /* Which CPU: x86 from CPUID (family and model as /proc/cpuinfo prints them);
     * elsewhere from /proc/cpuinfo (Arm: implementer, architecture, part). Empty
     * strings and 0 when unknown. */
    char cpu_vendor[16]; /* "AuthenticAMD", "GenuineIntel", "0x41" */
    char cpu_name[64];   /* "AMD EPYC 7763 64-Core Processor" */
    unsigned cpu_family, cpu_model;
} recur_machine;

/* Detected once per process; thread-safe. */
const recur_machine *recur_machine_get(void);

/* The first integer of a sysfs file; -1 when unreadable. */
long recur_sysfs_long(const char *path);

/* Fills the CPU identity fields of m (src/cpu_ident.c); leaves the others alone. */
void recur_cpu_identify(recur_machine *m);

/* The L3 bytes one core can count on (its share of the L3 instance); 0 = unknown.
 * Without the sharing count, every core of the machine is assumed to share it. */
static inline size_t recur_l3_share(const recur_machine *m)
{
    size_t sharing = m->l3_cores ? m->l3_cores : m->cores;
    return m->l3_bytes / (sharing ? sharing : 1);
}

#endif
