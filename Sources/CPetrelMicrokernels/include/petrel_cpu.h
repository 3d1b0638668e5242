#ifndef PETREL_CPU_H
#define PETREL_CPU_H
/// CPU feature bits, read once by the Swift dispatch table at start-up.
enum {
    PETREL_CPU_AVX2_FMA = 1 << 0,   // AVX2 + FMA3 (Haswell, Zen 1+)
    PETREL_CPU_AVX512F  = 1 << 1,   // AVX-512 F + BW + DQ + VL (Skylake-SP, Zen 4)
    PETREL_CPU_AVX512VNNI = 1 << 2, // int8 dot products (reserved for the int8 kernels)
    PETREL_CPU_HALF_WIDTH_512 = 1 << 3, // 512-bit ops split over 256-bit units (AMD Zen 4)
};
unsigned petrel_cpu_features(void);
#endif
