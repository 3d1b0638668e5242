#if canImport(Glibc)
import Glibc
#endif

/// Single-precision GEMM. All matrices row-major. (Skeleton: naive loops; the SGEMM work replaces the
/// bodies, keeping these signatures.)
public enum Gemm {
    /// C[m×n] = alpha·op(A)·op(B) + beta·C, then the epilogue. op(X) = Xᵀ when trans is set.
    public static func sgemm(m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                             b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                             epilogue: GemmEpilogue = .none, pool: ThreadPool? = nil) {
        for i in 0..<m { for j in 0..<n {
            var s: Float = 0
            for p in 0..<k {
                let av = transA ? a[p * lda + i] : a[i * lda + p]
                let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                s += av * bv
            }
            c[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j])
        } }
        applyEpilogue(epilogue, m: m, n: n, c: c, ldc: ldc)
    }

    /// The packed-B layout of the current kernel table for a K×N weight.
    public static func packedLayout(k: Int, n: Int) -> PackedBLayout {
        PackedBLayout(k: k, n: n, nr: KernelTable.current.gemm.nr)
    }

    /// Packs op(B) (K×N) into `into`, which holds `packedLayout(k:n:).floatCount` floats.
    public static func packB(k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                             into: UnsafeMutablePointer<Float>) {
        let l = packedLayout(k: k, n: n)
        for p in 0..<l.panels { for kk in 0..<k { for jj in 0..<l.nr {
            let j = p * l.nr + jj
            into[(p * k + kk) * l.nr + jj] = j < n ? (transB ? b[j * ldb + kk] : b[kk * ldb + j]) : 0
        } } }
    }

    /// C = alpha·op(A)·B + beta·C with B pre-packed by `packB` (same K, N and kernel table).
    public static func sgemmPacked(m: Int, n: Int, k: Int, alpha: Float = 1,
                                   a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                                   packedB: UnsafePointer<Float>,
                                   beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                                   epilogue: GemmEpilogue = .none, pool: ThreadPool? = nil) {
        let nr = KernelTable.current.gemm.nr
        for i in 0..<m { for j in 0..<n {
            var s: Float = 0
            for p in 0..<k {
                let av = transA ? a[p * lda + i] : a[i * lda + p]
                s += av * packedB[((j / nr) * k + p) * nr + j % nr]
            }
            c[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j])
        } }
        applyEpilogue(epilogue, m: m, n: n, c: c, ldc: ldc)
    }

    /// `batch` independent GEMMs whose operands sit `stride` floats apart (attention heads, MatMul
    /// with leading batch dims). Parallel over the batch when the single products are small.
    public static func sgemmBatched(batch: Int, m: Int, n: Int, k: Int, alpha: Float = 1,
                                    a: UnsafePointer<Float>, strideA: Int, lda: Int, transA: Bool = false,
                                    b: UnsafePointer<Float>, strideB: Int, ldb: Int, transB: Bool = false,
                                    beta: Float = 0, c: UnsafeMutablePointer<Float>, strideC: Int, ldc: Int,
                                    pool: ThreadPool? = nil) {
        for i in 0..<batch {
            sgemm(m: m, n: n, k: k, alpha: alpha, a: a + i * strideA, lda: lda, transA: transA,
                  b: b + i * strideB, ldb: ldb, transB: transB, beta: beta, c: c + i * strideC, ldc: ldc)
        }
    }

    static func applyEpilogue(_ e: GemmEpilogue, m: Int, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m { for j in 0..<n {
            var v = c[i * ldc + j]
            if let bias = e.bias { v += e.biasPerRow ? bias[i] : bias[j] }
            c[i * ldc + j] = e.activation.apply(v)
        } }
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
