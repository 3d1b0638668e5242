#ifndef PETREL_CPU_H
#define PETREL_CPU_H
#include <stddef.h>
/// CPU feature bits, read once by the Swift dispatch table at start-up.
enum {
    PETREL_CPU_AVX2_FMA = 1 << 0,   // AVX2 + FMA3 (Haswell, Zen 1+)
    PETREL_CPU_AVX512F  = 1 << 1,   // AVX-512 F + BW + DQ + VL (Skylake-SP, Zen 4)
    PETREL_CPU_AVX512VNNI = 1 << 2, // int8 dot products (reserved for the int8 kernels)
    PETREL_CPU_HALF_WIDTH_512 = 1 << 3, // 512-bit ops split over 256-bit units (AMD Zen 4)
};
unsigned petrel_cpu_features(void);
/// The CPU the calling thread runs on (sched_getcpu: not visible to Swift), or -1.
int petrel_current_cpu(void);
/// The calling thread's CPU mask (bit c of mask[c / 8] = CPU c): read it (set = 0) or set it
/// (set = 1; 0 or -1 with errno, as sched_setaffinity). Linux; glibc needs _GNU_SOURCE for these.
int petrel_thread_affinity(unsigned char *mask, size_t bytes, int set);
#endif
