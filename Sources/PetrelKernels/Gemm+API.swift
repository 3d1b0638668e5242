#if canImport(Glibc)
import Glibc
#endif

/// Single-precision GEMM. All matrices row-major. The public entry points use
/// `KernelTable.current`; the `kernels:` variants (internal) let tests run every ISA the machine has.
/// The driver (blocking, packing, threading, epilogue) is in `GemmDriver.swift`; tiles and blocking
/// per ISA, with measurements, in `GemmKernels`. M = 1 takes a GEMV path that reads B (plain or
/// pre-packed) directly; products under 2^20 multiply-adds run inline on the caller's thread.
public enum Gemm {
    /// C[m×n] = alpha·op(A)·op(B) + beta·C, then the epilogue. op(X) = Xᵀ when trans is set.
    /// beta = 0 overwrites C without reading it; alpha = 0 (or k = 0) does not evaluate A·B.
    public static func sgemm(m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                             b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                             epilogue: GemmEpilogue = .none, pool: ThreadPool? = nil) {
        sgemm(kernels: KernelTable.current.gemm, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
              transA: transA, b: b, ldb: ldb, transB: transB, beta: beta, c: c, ldc: ldc,
              epilogue: epilogue, pool: pool)
    }

    /// The packed-B layout of the current kernel table for a K×N weight.
    public static func packedLayout(k: Int, n: Int) -> PackedBLayout {
        PackedBLayout(k: k, n: n, nr: KernelTable.current.gemm.nr)
    }

    /// Packs op(B) (K×N) into `into`, which holds `packedLayout(k:n:).floatCount` floats.
    public static func packB(k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                             into: UnsafeMutablePointer<Float>) {
        packB(kernels: KernelTable.current.gemm, k: k, n: n, b: b, ldb: ldb, transB: transB, into: into)
    }

    /// C = alpha·op(A)·B + beta·C with B pre-packed by `packB` (same K, N and kernel table).
    public static func sgemmPacked(m: Int, n: Int, k: Int, alpha: Float = 1,
                                   a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                                   packedB: UnsafePointer<Float>,
                                   beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                                   epilogue: GemmEpilogue = .none, pool: ThreadPool? = nil) {
        sgemmPacked(kernels: KernelTable.current.gemm, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                    transA: transA, packedB: packedB, beta: beta, c: c, ldc: ldc, epilogue: epilogue, pool: pool)
    }

    /// `batch` independent GEMMs whose operands sit `stride` floats apart (attention heads, MatMul
    /// with leading batch dims). Parallel over the batch when the single products are small.
    public static func sgemmBatched(batch: Int, m: Int, n: Int, k: Int, alpha: Float = 1,
                                    a: UnsafePointer<Float>, strideA: Int, lda: Int, transA: Bool = false,
                                    b: UnsafePointer<Float>, strideB: Int, ldb: Int, transB: Bool = false,
                                    beta: Float = 0, c: UnsafeMutablePointer<Float>, strideC: Int, ldc: Int,
                                    pool: ThreadPool? = nil) {
        sgemmBatched(kernels: KernelTable.current.gemm, batch: batch, m: m, n: n, k: k, alpha: alpha,
                     a: a, strideA: strideA, lda: lda, transA: transA, b: b, strideB: strideB, ldb: ldb,
                     transB: transB, beta: beta, c: c, strideC: strideC, ldc: ldc, pool: pool)
    }

    /// The same with each product's operands at their own offsets (MatMul over permuted operands:
    /// attention heads read in place from [batch, seq, heads, dim]), `c` products `strideC` apart.
    public static func sgemmBatched(batch: Int, m: Int, n: Int, k: Int, alpha: Float = 1,
                                    a: UnsafePointer<Float>, offsetsA: [Int], lda: Int, transA: Bool = false,
                                    b: UnsafePointer<Float>, offsetsB: [Int], ldb: Int, transB: Bool = false,
                                    c: UnsafeMutablePointer<Float>, strideC: Int, ldc: Int, pool: ThreadPool? = nil) {
        precondition(offsetsA.count >= batch && offsetsB.count >= batch, "an offset per product")
        batched(kernels: KernelTable.current.gemm, batch: batch, m: m, n: n, k: k, alpha: alpha,
                a: { a + offsetsA[$0] }, lda: lda, transA: transA, b: { b + offsetsB[$0] }, ldb: ldb, transB: transB,
                beta: 0, c: { c + $0 * strideC }, ldc: ldc, pool: pool)
    }

    // MARK: explicit kernel table (tests, benchmarks)

    static func sgemm(kernels: GemmKernels, m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                      b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                      epilogue: GemmEpilogue = .none, pool: ThreadPool? = nil) {
        drive(kernels, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, transA: transA,
              b: GemmBOperand(ptr: b, ld: ldb, trans: transB, prepacked: false),
              beta: beta, c: c, ldc: ldc, epilogue: epilogue, pool: pool)
    }

    static func packB(kernels: GemmKernels, k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int,
                      transB: Bool = false, into: UnsafeMutablePointer<Float>) {
        let l = PackedBLayout(k: k, n: n, nr: kernels.nr)
        if l.floatCount == 0 { return }
        gemmPackB(b, ldb: ldb, trans: transB, n: n, j0: 0, p0: 0, kb: k, nr: l.nr,
                  panels: 0..<l.panels, into: into, panelStride: k * l.nr)
    }

    static func sgemmPacked(kernels: GemmKernels, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                            packedB: UnsafePointer<Float>,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                            epilogue: GemmEpilogue = .none, pool: ThreadPool? = nil) {
        drive(kernels, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, transA: transA,
              b: GemmBOperand(ptr: packedB, ld: kernels.nr, trans: false, prepacked: true),
              beta: beta, c: c, ldc: ldc, epilogue: epilogue, pool: pool)
    }

    /// Products below this many multiply-adds each are spread over the batch (one whole product per
    /// chunk, no barrier inside); larger ones run one after another, each parallel inside.
    static let batchedInnerParallelFMAs = 1 << 22
    /// A batch of small products goes parallel from this many multiply-adds in all: whole products
    /// per chunk need no tile-level split, so it pays earlier than one product's threshold.
    static let batchedParallelFMAs = 1 << 18

    static func sgemmBatched(kernels: GemmKernels, batch: Int, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, strideA: Int, lda: Int, transA: Bool = false,
                             b: UnsafePointer<Float>, strideB: Int, ldb: Int, transB: Bool = false,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, strideC: Int, ldc: Int,
                             pool: ThreadPool? = nil) {
        batched(kernels: kernels, batch: batch, m: m, n: n, k: k, alpha: alpha,
                a: { a + $0 * strideA }, lda: lda, transA: transA, b: { b + $0 * strideB }, ldb: ldb, transB: transB,
                beta: beta, c: { c + $0 * strideC }, ldc: ldc, pool: pool)
    }

    /// Product `i` reads `a(i)` and `b(i)` and writes `c(i)`. Small products are spread over the
    /// batch, one whole product per chunk: each is under the driver's own parallel threshold, so
    /// run one after another they would all stay on the caller's thread.
    private static func batched(kernels: GemmKernels, batch: Int, m: Int, n: Int, k: Int, alpha: Float,
                                a: (Int) -> UnsafePointer<Float>, lda: Int, transA: Bool,
                                b: (Int) -> UnsafePointer<Float>, ldb: Int, transB: Bool,
                                beta: Float, c: (Int) -> UnsafeMutablePointer<Float>, ldc: Int, pool: ThreadPool?) {
        if batch <= 0 { return }
        func one(_ i: Int, _ inner: ThreadPool?) {
            drive(kernels, m: m, n: n, k: k, alpha: alpha, a: a(i), lda: lda, transA: transA,
                  b: GemmBOperand(ptr: b(i), ld: ldb, trans: transB, prepacked: false),
                  beta: beta, c: c(i), ldc: ldc, epilogue: .none, pool: inner)
        }
        if let pool, pool.threads > 1, batch > 1, m * n * k < batchedInnerParallelFMAs,
           batch * m * n * k >= batchedParallelFMAs {
            pool.parallelFor(batch) { i in one(i, nil) }
        } else {
            for i in 0..<batch { one(i, pool) }
        }
    }
}

extension Activation {
    /// Scalar reference of the activation (vector kernels must match it).
    @inline(__always) public func apply(_ x: Float) -> Float {
        switch self {
        case .none: return x
        case .relu: return x > 0 ? x : 0
        case .leakyRelu(let a): return x >= 0 ? x : a * x
        case .clip(let lo, let hi): return Swift.min(Swift.max(x, lo), hi)
        case .sigmoid: return 1 / (1 + expf(-x))
        case .tanh: return tanhf(x)
        case .gelu: return 0.5 * x * (1 + erff(x * 0.70710678118654752))
        }
    }
}
