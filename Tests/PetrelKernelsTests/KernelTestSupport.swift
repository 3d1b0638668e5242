import Foundation
@testable import PetrelKernels

/// Deterministic inputs for the kernel tests (xorshift: same values every run, any platform).
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }
    mutating func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
    mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] { (0..<n).map { _ in float(lo, hi) } }
}

/// A fresh two-thread pool so the parallel paths run. One per test (case): Swift Testing runs tests
/// concurrently, and a ThreadPool serves one parallelFor at a time.
var testPool: ThreadPool { ThreadPool(threads: 2) }

/// Largest |a − b| / (atol + rtol·|b|) over the arrays; ≤ 1 passes. NaN must match NaN, inf must match.
func worstError(_ a: [Float], _ b: [Float], atol: Float, rtol: Float) -> (Float, Int) {
    var worst: Float = 0, at = -1
    for i in a.indices {
        let x = a[i], y = b[i]
        if x.isNaN || y.isNaN { if x.isNaN != y.isNaN { return (.infinity, i) }; continue }
        if x.isInfinite || y.isInfinite { if x != y { return (.infinity, i) }; continue }
        let e = Swift.abs(x - y) / (atol + rtol * Swift.abs(y))
        if e > worst { worst = e; at = i }
    }
    return (worst, at)
}

func describe(_ a: [Float], _ b: [Float], _ r: (Float, Int)) -> String {
    r.1 < 0 ? "ok" : "worst at \(r.1): got \(a[r.1]) want \(b[r.1]) (error ratio \(r.0))"
}
