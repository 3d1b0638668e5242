import Testing
@testable import PetrelKernels

/// Every ISA path this CPU runs (AVX-512 has its own test, skipped with a message elsewhere).
let runnableISAs = ISA.allCases.filter { $0 <= ISA.detected }

struct Rng {
    var s: UInt64
    mutating func next() -> Float {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: s >> 11) % 2_000_001 - 1_000_000) / 1_000_000
    }
    mutating func fill(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
}

/// One GEMM case: operands stored with padded leading dimensions, C padded with sentinels.
struct GemmCase: CustomStringConvertible {
    var isa: ISA
    var m: Int, n: Int, k: Int
    var transA = false, transB = false
    var alpha: Float = 1, beta: Float = 0
    var bias: BiasKind = .none
    var activation: Activation = .none
    var threads = 1

    enum BiasKind { case none, row, col }

    var description: String {
        "isa=\(isa) m=\(m) n=\(n) k=\(k) transA=\(transA) transB=\(transB) alpha=\(alpha) beta=\(beta) "
            + "bias=\(bias) act=\(activation) threads=\(threads)"
    }
    var lda: Int { (transA ? m : k) + 3 }
    var ldb: Int { (transB ? k : n) + 2 }
    var ldc: Int { n + 5 }
}

let sentinel: Float = -12345.5

/// Naive double-accumulated reference; returns expected C and a per-element error bound that grows
/// with K (sum of |terms| × (K + 2) ulps-worth).
func referenceGemm(_ t: GemmCase, a: [Float], b: [Float], c0: [Float], bias: [Float]) -> (c: [Float], tol: [Float]) {
    var out = c0, tol = [Float](repeating: 0, count: c0.count)
    a.withUnsafeBufferPointer { A in b.withUnsafeBufferPointer { B in
        for i in 0..<t.m { for j in 0..<t.n {
            var s = 0.0, mag = 0.0
            for p in 0..<t.k {
                let av = Double(t.transA ? A[p * t.lda + i] : A[i * t.lda + p])
                let bv = Double(t.transB ? B[j * t.ldb + p] : B[p * t.ldb + j])
                s += av * bv; mag += abs(av * bv)
            }
            var v = Double(t.alpha) * s
            mag *= Double(abs(t.alpha))
            if t.beta != 0 { v += Double(t.beta) * Double(c0[i * t.ldc + j]); mag += abs(Double(t.beta) * Double(c0[i * t.ldc + j])) }
            switch t.bias { case .none: break; case .row: v += Double(bias[i]); case .col: v += Double(bias[j]) }
            out[i * t.ldc + j] = t.activation.apply(Float(v))
            tol[i * t.ldc + j] = Float(mag) * Float(t.k + 4) * 2.4e-7 + 1e-6
        } }
    } }
    return (out, tol)
}

enum GemmPath: CaseIterable { case unpacked, packed }

/// Runs the case through `path` and checks every element of C (including the untouched padding).
func checkGemm(_ t: GemmCase, path: GemmPath, seed: UInt64 = 1) {
    var rng = Rng(s: seed &+ UInt64(t.m * 1_000_003 + t.n * 1009 + t.k))
    let aRows = t.transA ? t.k : t.m, bRows = t.transB ? t.n : t.k
    let a = rng.fill(aRows * t.lda), b = rng.fill(bRows * t.ldb)
    let bias = rng.fill(max(t.m, t.n))
    var c = [Float](repeating: 0, count: t.m * t.ldc)
    for i in 0..<t.m { for j in 0..<t.ldc { c[i * t.ldc + j] = j < t.n ? (t.beta == 0 ? .nan : rng.next()) : sentinel } }
    let (expect, tol) = referenceGemm(t, a: a, b: b, c0: c, bias: bias)
    let kern = KernelTable(isa: t.isa).gemm
    let pool = t.threads > 1 ? ThreadPool(threads: t.threads) : nil
    bias.withUnsafeBufferPointer { bp in
        let epi = GemmEpilogue(bias: t.bias == .none ? nil : bp.baseAddress!, biasPerRow: t.bias == .row,
                               activation: t.activation)
        c.withUnsafeMutableBufferPointer { cp in
            switch path {
            case .unpacked:
                Gemm.sgemm(kernels: kern, m: t.m, n: t.n, k: t.k, alpha: t.alpha, a: a, lda: t.lda, transA: t.transA,
                           b: b, ldb: t.ldb, transB: t.transB, beta: t.beta, c: cp.baseAddress!, ldc: t.ldc,
                           epilogue: epi, pool: pool)
            case .packed:
                let layout = PackedBLayout(k: t.k, n: t.n, nr: kern.nr)
                var packed = [Float](repeating: .nan, count: layout.floatCount)
                packed.withUnsafeMutableBufferPointer {
                    Gemm.packB(kernels: kern, k: t.k, n: t.n, b: b, ldb: t.ldb, transB: t.transB, into: $0.baseAddress!)
                }
                Gemm.sgemmPacked(kernels: kern, m: t.m, n: t.n, k: t.k, alpha: t.alpha, a: a, lda: t.lda,
                                 transA: t.transA, packedB: packed, beta: t.beta, c: cp.baseAddress!, ldc: t.ldc,
                                 epilogue: epi, pool: pool)
            }
        }
    }
    var bad = 0
    for i in 0..<t.m { for j in 0..<t.ldc {
        let idx = i * t.ldc + j
        let ok = j < t.n ? abs(c[idx] - expect[idx]) <= tol[idx] : c[idx] == sentinel
        if !ok {
            bad += 1
            if bad <= 3 {
                Issue.record("\(t) path=\(path): C[\(i),\(j)] = \(c[idx]), expected \(j < t.n ? expect[idx] : sentinel) ± \(tol[idx])")
            }
        }
    } }
    if bad > 3 { Issue.record("\(t) path=\(path): \(bad) wrong elements in total") }
}

@Suite struct GemmTests {
    @Test(arguments: runnableISAs)
    func awkwardShapes(isa: ISA) {
        var idx = 0
        for m in [1, 2, 5, 6, 7, 10, 13, 119, 122] {
            for n in [1, 15, 16, 17, 33] {
                for k in [1, 3, 10, 257, 500] {
                    if m > 100 && n > 20 && k > 300 { continue }  // keep the -Onone reference cheap
                    idx += 1
                    var t = GemmCase(isa: isa, m: m, n: n, k: k)
                    t.transA = idx & 1 != 0
                    t.transB = idx & 2 != 0
                    (t.alpha, t.beta) = [(1, 0), (0.5, 0), (1, 1), (-2, 0.25)][(idx / 4) % 4]
                    checkGemm(t, path: idx % 3 == 0 ? .packed : .unpacked)
                }
            }
        }
    }

    @Test(arguments: runnableISAs)
    func everyTransposeAndPath(isa: ISA) {
        for (m, n, k) in [(7, 17, 9), (1, 33, 10), (122, 16, 3), (6, 16, 300)] {
            for transA in [false, true] { for transB in [false, true] { for path in GemmPath.allCases {
                checkGemm(GemmCase(isa: isa, m: m, n: n, k: k, transA: transA, transB: transB, alpha: 1.5, beta: 0.5),
                          path: path)
            } } }
        }
    }

    @Test(arguments: runnableISAs)
    func epilogues(isa: ISA) {
        let acts: [Activation] = [.none, .relu, .leakyRelu(alpha: 0.1), .clip(min: -0.5, max: 0.75), .sigmoid, .tanh, .gelu]
        for act in acts {
            for bias in [GemmCase.BiasKind.none, .row, .col] {
                // K = 300 takes two KC passes (one with an activation in place): the epilogue
                // must run once, after the last.
                for (m, n, k) in [(9, 33, 300), (1, 17, 20), (13, 5, 4)] {
                    for path in GemmPath.allCases {
                        checkGemm(GemmCase(isa: isa, m: m, n: n, k: k, transB: m == 13, beta: m == 9 ? 0.5 : 0,
                                           bias: bias, activation: act), path: path)
                    }
                }
            }
        }
    }

    /// A batched request's rows must come out the same whichever tile they fall in: with M = 9 the
    /// last three rows run in a three-row tile, with M = 12 in a six-row one. (M = 1 is a GEMV,
    /// which sums in another order.)
    @Test(arguments: runnableISAs)
    func rowsDoNotDependOnTheirTile(isa: ISA) {
        let kern = KernelTable(isa: isa).gemm
        var rng = Rng(s: 99)
        let n = 40, k = 70
        let a = rng.fill(12 * k), b = rng.fill(k * n), bias = rng.fill(n)
        let layout = PackedBLayout(k: k, n: n, nr: kern.nr)
        var packed = [Float](repeating: 0, count: layout.floatCount)
        packed.withUnsafeMutableBufferPointer { Gemm.packB(kernels: kern, k: k, n: n, b: b, ldb: n, transB: false, into: $0.baseAddress!) }
        func run(_ m: Int) -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            bias.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    Gemm.sgemmPacked(kernels: kern, m: m, n: n, k: k, a: a, lda: k, packedB: packed, c: cp.baseAddress!, ldc: n,
                                     epilogue: GemmEpilogue(bias: bp.baseAddress!, biasPerRow: false, activation: .gelu))
                }
            }
            return c
        }
        let twelve = run(12)
        for m in [2, 3, 8, 9] { #expect(run(m) == Array(twelve[0..<(m * n)]), "isa=\(isa) m=\(m)") }
    }

    /// Batch 1 against pre-packed B: whole pairs of panels go through the two-panel GEMV, an odd
    /// panel and a partial one through the one-panel GEMV.
    @Test(arguments: runnableISAs)
    func gemvOverPanelPairs(isa: ISA) {
        for n in [32, 48, 64, 100, 256] {
            for k in [1, 2, 7, 64] {
                for beta: Float in [0, 0.5] {
                    checkGemm(GemmCase(isa: isa, m: 1, n: n, k: k, alpha: 1.5, beta: beta,
                                       bias: beta == 0 ? .col : .none, activation: beta == 0 ? .relu : .none), path: .packed)
                }
            }
        }
    }

    @Test(arguments: runnableISAs)
    func alphaZeroAndKZeroScaleC(isa: ISA) {
        for path in GemmPath.allCases {
            checkGemm(GemmCase(isa: isa, m: 5, n: 17, k: 8, alpha: 0, beta: 0.5), path: path)
            checkGemm(GemmCase(isa: isa, m: 5, n: 17, k: 0, beta: 0, bias: .col, activation: .relu), path: path)
            checkGemm(GemmCase(isa: isa, m: 3, n: 4, k: 0, beta: 2), path: path)
        }
    }

    /// Pre-packed B runs each row block's KC passes back to back: several row blocks (A read in
    /// place, blocks of up to 256 KB of rows) times several passes, with the epilogue after the
    /// last pass of each block, on one thread and split over two.
    @Test(arguments: runnableISAs)
    func rowBlocksTimesPasses(isa: ISA) {
        for threads in [1, 2] {
            for (m, k, act) in [(400, 520, Activation.gelu), (257, 700, .relu)] {
                checkGemm(GemmCase(isa: isa, m: m, n: 40, k: k, beta: m == 257 ? 0.5 : 0, bias: .col, activation: act,
                                   threads: threads), path: .packed)
            }
        }
    }

    /// Pre-packed products are claimed as (row block, panel group) items: groups with a short last
    /// one, several row blocks per share, fewer row shares than threads (50 rows on 4), packed A
    /// (transposed) taking whole blocks; every item must run exactly once whichever thread claims it.
    @Test(arguments: runnableISAs)
    func claimedRowBlocksAndPanelGroups(isa: ISA) {
        for threads in [2, 3, 4] {
            for (m, n, k, act, transA) in [(700, 300, 200, Activation.gelu, false), (710, 70, 700, .relu, false),
                                           (50, 40, 600, .none, false), (400, 200, 300, .none, true)] {
                checkGemm(GemmCase(isa: isa, m: m, n: n, k: k, transA: transA, beta: m == 710 ? 0.5 : 0, bias: .col,
                                   activation: act, threads: threads), path: .packed)
            }
        }
    }

    /// Large enough to cross the parallel threshold: row split, panel split, M = 1 column split,
    /// several NC blocks and KC passes.
    @Test(arguments: runnableISAs)
    func twoThreads(isa: ISA) {
        for (m, n, k) in [(130, 100, 100), (8, 600, 300), (1, 1000, 200), (3, 4100, 90), (61, 40, 520)] {
            for path in GemmPath.allCases {
                checkGemm(GemmCase(isa: isa, m: m, n: n, k: k, transA: m == 61, transB: n == 600, beta: m == 3 ? 1 : 0,
                                   bias: .col, activation: .relu, threads: 2), path: path)
            }
        }
    }

    /// The persisted `PackedBLayout`: panel p, row kk, lane jj holds B[kk, p·NR + jj] (0 past N).
    @Test(arguments: runnableISAs)
    func packedLayoutIsThePersistedOne(isa: ISA) {
        let kern = KernelTable(isa: isa).gemm
        var rng = Rng(s: 7)
        // k = 21: two 8-deep register transposes and a scalar tail in the AVX2 packer.
        for k in [5, 21] { let n = 2 * kern.nr + 3, b = rng.fill(k * n)
        for transB in [false, true] {
            let l = PackedBLayout(k: k, n: n, nr: kern.nr)
            var packed = [Float](repeating: .nan, count: l.floatCount)
            packed.withUnsafeMutableBufferPointer {
                Gemm.packB(kernels: kern, k: k, n: n, b: transB ? transpose(b, rows: k, cols: n) : b,
                           ldb: transB ? k : n, transB: transB, into: $0.baseAddress!)
            }
            for p in 0..<l.panels { for kk in 0..<k { for jj in 0..<l.nr {
                let j = p * l.nr + jj
                let want: Float = j < n ? b[kk * n + j] : 0
                #expect(packed[(p * k + kk) * l.nr + jj] == want, "isa=\(isa) transB=\(transB) panel \(p) k \(kk) lane \(jj)")
            } } }
        }
        }
    }

    @Test func avx2UsesTheReferencePanelWidth() {
        // Weights packed on an AVX2 machine load on a machine without it (and vice versa).
        #expect(KernelTable(isa: .reference).gemm.nr == KernelTable(isa: .avx2).gemm.nr)
    }

    @Test(.enabled(if: ISA.detected >= .avx512, "this CPU lacks AVX-512F/BW/DQ/VL: the 14×32 kernel was compiled but not run"))
    func avx512Kernel() {
        for (m, n, k) in [(1, 33, 10), (14, 32, 7), (15, 33, 400), (119, 17, 5), (3, 65, 1)] {
            for path in GemmPath.allCases {
                checkGemm(GemmCase(isa: .avx512, m: m, n: n, k: k, transA: k == 7, beta: k == 5 ? 0.5 : 0,
                                   bias: .row, activation: .relu), path: path)
            }
        }
    }
}

func transpose(_ x: [Float], rows: Int, cols: Int) -> [Float] {
    var t = [Float](repeating: 0, count: x.count)
    for i in 0..<rows { for j in 0..<cols { t[j * rows + i] = x[i * cols + j] } }
    return t
}
