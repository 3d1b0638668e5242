#include "petrel_cpu.h"

unsigned petrel_cpu_features(void) {
    unsigned f = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= PETREL_CPU_AVX2_FMA;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) f |= PETREL_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512vnni")) f |= PETREL_CPU_AVX512VNNI;
#endif
    return f;
}
