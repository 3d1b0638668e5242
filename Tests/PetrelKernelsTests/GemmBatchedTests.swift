import Testing
@testable import PetrelKernels

@Suite struct GemmBatchedTests {
    /// Batched against one reference product per batch item; strides leave gaps between items that
    /// must stay untouched. (batch 8 of 24×20×40 crosses the parallel-over-batch threshold with 2 threads.)
    @Test(arguments: runnableISAs, [1, 2])
    func batchedMatchesPerItemReference(isa: ISA, threads: Int) {
        for (batch, m, n, k, transA, transB, beta) in [(3, 5, 17, 9, false, true, Float(0)),
                                                      (8, 24, 20, 40, true, false, Float(0.5)),
                                                      (40, 32, 32, 32, false, false, Float(0))] {
            let t = GemmCase(isa: isa, m: m, n: n, k: k, transA: transA, transB: transB, alpha: 0.75, beta: beta)
            let strideA = (transA ? k : m) * t.lda + 7, strideB = (transB ? n : k) * t.ldb + 3
            let strideC = m * t.ldc + 11
            var rng = Rng(s: UInt64(batch * 31 + m))
            let a = rng.fill(batch * strideA), b = rng.fill(batch * strideB)
            var c = rng.fill(batch * strideC)
            if beta == 0 { for i in c.indices { c[i] = .nan } }
            let c0 = c
            let pool = ThreadPool(threads: threads)
            c.withUnsafeMutableBufferPointer { cp in
                Gemm.sgemmBatched(kernels: KernelTable(isa: isa).gemm, batch: batch, m: m, n: n, k: k, alpha: 0.75,
                                  a: a, strideA: strideA, lda: t.lda, transA: transA,
                                  b: b, strideB: strideB, ldb: t.ldb, transB: transB,
                                  beta: beta, c: cp.baseAddress!, strideC: strideC, ldc: t.ldc, pool: pool)
            }
            var bad = 0
            for item in 0..<batch {
                let (want, tol) = referenceGemm(t, a: Array(a[(item * strideA)...].prefix(strideA)),
                                                b: Array(b[(item * strideB)...].prefix(strideB)),
                                                c0: Array(c0[(item * strideC)...].prefix(m * t.ldc)), bias: [])
                for i in 0..<m { for j in 0..<t.ldc {
                    let got = c[item * strideC + i * t.ldc + j]
                    let ok = j < n ? abs(got - want[i * t.ldc + j]) <= tol[i * t.ldc + j]
                                   : got.bitPattern == c0[item * strideC + i * t.ldc + j].bitPattern
                    if !ok { bad += 1 }
                } }
                for g in (item * strideC + m * t.ldc)..<((item + 1) * strideC) where c[g].bitPattern != c0[g].bitPattern { bad += 1 }
            }
            #expect(bad == 0, "batched batch=\(batch) \(t): \(bad) wrong elements")
        }
    }
}
