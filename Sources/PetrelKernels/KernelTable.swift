import CPetrelMicrokernels
#if canImport(Glibc)
import Glibc
#endif

/// The instruction set a kernel table was built for. Ordered: a machine that runs `.avx512` runs `.avx2`.
public enum ISA: String, Sendable, Comparable, CaseIterable {
    case reference, avx2, avx512

    var rank: Int { switch self { case .reference: 0; case .avx2: 1; case .avx512: 2 } }
    public static func < (a: ISA, b: ISA) -> Bool { a.rank < b.rank }

    /// The best ISA this CPU runs: the ceiling for `PETREL_ISA` (asking for more is ignored). Tests
    /// build tables for every ISA up to it, so each path the machine can run is exercised.
    public static let detected: ISA = {
        let f = features
        var best: ISA = .reference
        if f & UInt32(PETREL_CPU_AVX2_FMA) != 0 { best = .avx2 }
        if f & UInt32(PETREL_CPU_AVX512F) != 0 { best = .avx512 }
        return best
    }()

    /// The ISA the kernel table uses unless `PETREL_ISA` says otherwise: `detected`, except on CPUs
    /// that run 512-bit operations as two 256-bit halves (AMD Zen 4). There AVX-512 has the same
    /// FMA throughput as AVX2, and the AVX2 path is the tuned one (row-A and fused-epilogue
    /// microkernels, SIMD packing, panel-pair GEMV). Measured on a Zen 4 EPYC, one thread, AVX2
    /// against AVX-512: SGEMM 1024³ 90 against 87 % of peak; digits-mlp batch 256 0.260 against
    /// 0.320 ms; MiniLM batch 1 (2 threads) 15.9 against 17.2 ms.
    public static let preferred: ISA = {
        if detected == .avx512, features & UInt32(PETREL_CPU_HALF_WIDTH_512) != 0 { return .avx2 }
        return detected
    }()

    private static let features = petrel_cpu_features()
}

/// The one dispatch table: every ISA-specific entry point, filled once. Callers never branch on the
/// ISA; they read `KernelTable.current`. New kernel families (int8, sparse) add a field here and
/// fill it in `init(isa:)`, so no caller changes.
public struct KernelTable: Sendable {
    public let isa: ISA
    public let gemm: GemmKernels
    public let vector: VectorKernels
    /// Direct stride-1 convolution (`Conv2D.runDirect`); nil: im2col + GEMM only.
    public let convDirect: petrel_conv_direct_fn?
    /// Winograd F(2×2, 3×3) convolution (`Conv2D.runWinograd`); nil: direct or im2col + GEMM.
    public let convWinograd: petrel_conv_winograd_fn?

    public init(isa: ISA) {
        let isa = min(isa, ISA.detected)
        self.isa = isa
        gemm = GemmKernels(isa: isa)
        vector = VectorKernels(isa: isa)
        convDirect = isa >= .avx2 ? petrel_conv_direct_avx2 : nil
        convWinograd = isa >= .avx2 ? petrel_conv_winograd_avx2 : nil
    }

    public static let current: KernelTable = {
        if let env = getenvString("PETREL_ISA"), let want = ISA(rawValue: env) { return KernelTable(isa: want) }
        return KernelTable(isa: .preferred)
    }()
}

func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}
