#include "petrel_cpu.h"
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
