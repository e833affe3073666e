/*
 * Which CPU this is, for reports and for rules that depend on the CPU rather than on
 * its caches: vendor, family/model and the model name. x86 asks CPUID, which needs
 * no file system and names the CPU a VM presents; other architectures read the first
 * processor block of /proc/cpuinfo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "topology.h"

/* Copies src into dst (size n) without its leading and trailing blanks. */
static void copy_trimmed(char *dst, size_t n, const char *src, size_t len)
{
    while (len && (*src == ' ' || *src == '\t')) {
        src++;
        len--;
    }
    while (len && (src[len - 1] == ' ' || src[len - 1] == '\n' || src[len - 1] == '\0'))
        len--;
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

void recur_cpu_identify(recur_machine *m)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return;
    char vendor[12];
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    copy_trimmed(m->cpu_vendor, sizeof m->cpu_vendor, vendor, sizeof vendor);
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        /* The extended fields count only past the base values that say so. */
        unsigned family = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
        if (family == 0xf)
            family += (a >> 20) & 0xff;
        if (family == 0x6 || family >= 0xf)
            model += ((a >> 16) & 0xf) << 4;
        m->cpu_family = family;
        m->cpu_model = model;
    }
    if (__get_cpuid_max(0x80000000u, NULL) >= 0x80000004u) {
        unsigned brand[12];
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002u + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2],
                        &brand[4 * i + 3]);
        copy_trimmed(m->cpu_name, sizeof m->cpu_name, (const char *)brand, sizeof brand);
    }
}

#else

/* The value after "key<blanks>:" when line starts with key; NULL otherwise. */
static const char *field(const char *line, const char *key)
{
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0)
        return NULL;
    line += k;
    while (*line == ' ' || *line == '\t')
        line++;
    return *line == ':' ? line + 1 : NULL;
}

void recur_cpu_identify(recur_machine *m)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    const char *v;
    while (fgets(line, sizeof line, f) && line[0] != '\n') { /* the first processor */
        if ((v = field(line, "model name")) || (v = field(line, "Processor")))
            copy_trimmed(m->cpu_name, sizeof m->cpu_name, v, strlen(v));
        else if ((v = field(line, "CPU implementer")) || (v = field(line, "vendor_id")))
            copy_trimmed(m->cpu_vendor, sizeof m->cpu_vendor, v, strlen(v));
        else if ((v = field(line, "CPU architecture")) || (v = field(line, "cpu family")))
            m->cpu_family = (unsigned)strtoul(v, NULL, 0);
        else if ((v = field(line, "CPU part")) || (v = field(line, "model")))
            m->cpu_model = (unsigned)strtoul(v, NULL, 0);
    }
    fclose(f);
}

#endif
