import Testing
@testable import PetrelKernels

@Test func parallelForVisitsEveryIndexOnce() {
    let pool = ThreadPool(threads: 2)
    var hits = [Int](repeating: 0, count: 1000)
    hits.withUnsafeMutableBufferPointer { h in
        let p = h.baseAddress!
        for _ in 0..<50 { pool.parallelFor(1000) { i in p[i] += 1 } }
    }
    #expect(hits.allSatisfy { $0 == 50 })
}
