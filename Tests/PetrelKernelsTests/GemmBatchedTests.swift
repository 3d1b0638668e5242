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

    /// Products at arbitrary offsets (a permuted operand's heads): item i reads the operands placed
    /// for item perm[i]; with two threads the items are spread over the pool.
    @Test(arguments: [1, 2])
    func offsetsPickEachProductsOperands(threads: Int) {
        let (batch, m, n, k) = (40, 32, 32, 32)
        let t = GemmCase(isa: KernelTable.current.isa, m: m, n: n, k: k, transA: false, transB: true, alpha: 1, beta: 0)
        let sizeA = m * t.lda, sizeB = n * t.ldb, sizeC = m * t.ldc
        var rng = Rng(s: 5)
        let a = rng.fill(batch * sizeA), b = rng.fill(batch * sizeB)
        let perm = (0..<batch).map { ($0 * 17 + 3) % batch }
        var c = [Float](repeating: .nan, count: batch * sizeC)
        c.withUnsafeMutableBufferPointer { cp in
            Gemm.sgemmBatched(batch: batch, m: m, n: n, k: k, a: a, offsetsA: perm.map { $0 * sizeA }, lda: t.lda,
                              b: b, offsetsB: perm.map { $0 * sizeB }, ldb: t.ldb, transB: true,
                              c: cp.baseAddress!, strideC: sizeC, ldc: t.ldc, pool: ThreadPool(threads: threads))
        }
        var bad = 0
        for (item, src) in perm.enumerated() {
            let (want, tol) = referenceGemm(t, a: Array(a[(src * sizeA)...].prefix(sizeA)), b: Array(b[(src * sizeB)...].prefix(sizeB)),
                                            c0: [Float](repeating: 0, count: sizeC), bias: [])
            for i in 0..<m { for j in 0..<n where !(abs(c[item * sizeC + i * t.ldc + j] - want[i * t.ldc + j]) <= tol[i * t.ldc + j]) { bad += 1 } }
        }
        #expect(bad == 0, "\(bad) wrong elements")
    }
}
