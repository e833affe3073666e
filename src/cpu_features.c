/*
 * What the running CPU and OS can execute. On x86 the OS must also save the
 * YMM/ZMM register state (XGETBV), or AVX instructions would fault or corrupt.
 */
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

/* Bits of XCR0: 1 SSE, 2 AVX (YMM), 5-7 opmask + ZMM. */
static int os_saves(unsigned long long mask)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
        return 0;
    return (xgetbv0() & mask) == mask;
}

int recur_cpu_has_avx2_fma(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_FMA) || !(c & bit_AVX))
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_AVX2))
        return 0;
    return os_saves(0x6);
}

int recur_cpu_has_avx512(void)
{
    unsigned int a, b, c, d;
    if (!recur_cpu_has_avx2_fma())
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    /* F for the kernels, DQ/BW/VL since the kernels directory is built with them. */
    const unsigned int need = bit_AVX512F | bit_AVX512DQ | bit_AVX512BW | bit_AVX512VL;
    if ((b & need) != need)
        return 0;
    return os_saves(0xE6);
}

int recur_cpu_has_neon(void)
{
    return 0;
}

#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif

int recur_cpu_has_avx2_fma(void) { return 0; }
int recur_cpu_has_avx512(void) { return 0; }

/* Advanced SIMD is architectural on AArch64 Linux, but ask the kernel anyway.
 * SVE would be detected here later through HWCAP_SVE. */
int recur_cpu_has_neon(void)
{
    return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
}

#else
int recur_cpu_has_avx2_fma(void) { return 0; }
int recur_cpu_has_avx512(void) { return 0; }
int recur_cpu_has_neon(void) { return 0; }
#endif
