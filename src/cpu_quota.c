/*
 * How many CPUs this process may really use: the CPUs in its affinity mask (taskset,
 * cpusets, container runtimes) and the CPU bandwidth quota of its cgroup (cgroup v2
 * cpu.max "quota period", at every level of its cgroup path; cgroup v1
 * cpu.cfs_quota_us / cpu.cfs_period_us), rounded up, as language runtimes count them.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

/* ceil(quota / period) of a cgroup v2 cpu.max file; 0 = no limit or unreadable. */
size_t recur_cgroup_cpu_max_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char q[32] = {0};
    unsigned long long quota = 0, period = 0;
    int n = fscanf(f, "%31s %llu", q, &period);
    fclose(f);
    if (n != 2 || strcmp(q, "max") == 0 || period == 0 || sscanf(q, "%llu", &quota) != 1 ||
        quota == 0)
        return 0;
    unsigned long long cpus = (quota + period - 1) / period;
    return cpus > SIZE_MAX ? SIZE_MAX : (size_t)cpus;
}

static size_t read_ull(const char *path, long long *v)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fscanf(f, "%lld", v) == 1;
    fclose(f);
    return (size_t)ok;
}

/* The smallest cgroup v2 limit along this process's cgroup path, else v1's; 0 = none. */
static size_t cgroup_cpus(void)
{
    size_t best = 0;
    char line[512], path[700];
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "0::", 3) != 0)
                continue;
            char *p = line + 3;
            p[strcspn(p, "\n")] = 0;
            /* the path and each ancestor up to the root of the mounted hierarchy */
            for (;;) {
                snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", strcmp(p, "/") ? p : "");
                size_t c = recur_cgroup_cpu_max_file(path);
                if (c && (!best || c < best))
                    best = c;
                char *slash = strrchr(p, '/');
                if (!slash || slash == p)
                    break;
                *slash = 0;
            }
        }
        fclose(f);
    }
    if (!best) {
        size_t c = recur_cgroup_cpu_max_file("/sys/fs/cgroup/cpu.max");
        if (c)
            best = c;
    }
    if (!best) {
        long long quota, period;
        if (read_ull("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", &quota) &&
            read_ull("/sys/fs/cgroup/cpu/cpu.cfs_period_us", &period) && quota > 0 && period > 0)
            best = (size_t)((quota + period - 1) / period);
    }
    return best;
}

size_t recur_cpus_allowed(void)
{
    size_t n = 0;
    n = recur_mask_cpus();
    size_t q = cgroup_cpus();
    if (q && (!n || q < n))
        n = q;
    return n; /* 0: unknown */
}
