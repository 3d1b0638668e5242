#define _GNU_SOURCE
#include "petrel_cpu.h"
#include <sched.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

unsigned petrel_cpu_features(void) {
    unsigned f = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= PETREL_CPU_AVX2_FMA;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) f |= PETREL_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512vnni")) f |= PETREL_CPU_AVX512VNNI;
    // AMD family 19h (Zen 3 and Zen 4; only Zen 4 has AVX-512) executes a 512-bit FMA as two
    // halves on its 256-bit pipes. Family 1Ah (Zen 5) has full-width units on its server parts.
    unsigned eax, ebx, ecx, edx;
    if (__get_cpuid(0, &eax, &ebx, &ecx, &edx) && ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163 &&
        __get_cpuid(1, &eax, &ebx, &ecx, &edx)) {  // "AuthenticAMD"
        unsigned family = (eax >> 8) & 0xf;
        if (family == 0xf) family += (eax >> 20) & 0xff;
        if (family == 0x19) f |= PETREL_CPU_HALF_WIDTH_512;
    }
#endif
    return f;
}

int petrel_current_cpu(void) { return sched_getcpu(); }

int petrel_thread_affinity(unsigned char *mask, size_t bytes, int set) {
    cpu_set_t s;
    CPU_ZERO(&s);
    size_t n = bytes < sizeof s ? bytes : sizeof s;
    if (set) {
        for (size_t c = 0; c < n * 8; c++) if (mask[c / 8] & (1u << (c % 8))) CPU_SET(c, &s);
        return sched_setaffinity(0, sizeof s, &s);
    }
    if (sched_getaffinity(0, sizeof s, &s) != 0) return -1;
    for (size_t c = 0; c < n * 8; c++) {
        if (CPU_ISSET(c, &s)) mask[c / 8] |= (unsigned char)(1u << (c % 8)); else mask[c / 8] &= (unsigned char)~(1u << (c % 8));
    }
    return 0;
}
