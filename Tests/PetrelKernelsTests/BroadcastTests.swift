import Testing
import Foundation
@testable import PetrelKernels

/// Naive broadcasting index: the flat index of `shape`'s element seen at output index `o`.
private func sourceIndex(_ o: Int, out: [Int], shape: [Int]) -> Int {
    var rem = o, idx = 0, mul = 1
    for i in stride(from: out.count - 1, through: 0, by: -1) {
        let c = rem % out[i]; rem /= out[i]
        let j = i - (out.count - shape.count)
        if j >= 0 { idx += (shape[j] == 1 ? 0 : c) * mul; mul *= shape[j] }
    }
    return idx
}

private let shapePairs: [([Int], [Int])] = [
    ([7], [7]), ([], [5]), ([3, 1], []), ([2, 3, 9], [9]), ([2, 3, 9], [3, 1]), ([1, 4, 1], [3, 1, 5]),
    ([2, 1, 3, 1], [5, 1, 7]), ([4, 5, 6], [4, 1, 6]), ([1], [1, 1, 1]), ([3, 0, 2], [2]), ([64, 300], [300]),
    ([128, 1537], [1, 1537]),
    // One long run (same shapes; a scalar), split within the run over the pool: float ops from
    // 2 × 64 K elements, the generic loops (comparisons, logic, Where) from 2 × 128 K.
    ([3, 20011], [3, 20011]), ([50001], []), ([2, 140001], [2, 140001]), ([270001], []),
]

@Test func broadcastShapes() throws {
    #expect(try Broadcast.shape([2, 1, 3], [4, 1]) == [2, 4, 3])
    #expect(try Broadcast.shape([], [3]) == [3])
    #expect(try Broadcast.shape([0, 1], [1, 5]) == [0, 5])
    #expect(throws: BroadcastError.self) { _ = try Broadcast.shape([2, 3], [4, 3]) }
    do { _ = try Broadcast.shape([2, 3], [4, 3]); Issue.record("no throw") } catch {
        #expect("\(error)" == "shapes [2, 3] and [4, 3] do not broadcast (axis -2)")
    }
}

@Test(arguments: [BinaryOp.add, .sub, .mul, .div, .pow, .max, .min])
func floatBinaryMatchesNaiveBroadcast(_ op: BinaryOp) throws {
    let pool = testPool
    var rng = TestRNG(seed: 3)
    for (sa, sb) in shapePairs + shapePairs.map({ ($0.1, $0.0) }) {
        let out = try Broadcast.shape(sa, sb)
        let a = rng.floats(sa.reduce(1, *), 0.1, 3), b = rng.floats(sb.reduce(1, *), -2, 2)
        let n = out.reduce(1, *)
        var got = [Float](repeating: .nan, count: n)
        Elementwise.binary(op, a: a, aShape: sa, b: b, bShape: sb, out: &got, outShape: out, pool: pool)
        let want = (0..<n).map { op.apply(a[sourceIndex($0, out: out, shape: sa)], b[sourceIndex($0, out: out, shape: sb)]) }
        #expect(got == want, "\(op) \(sa) ⊕ \(sb) → \(out): \(describe(got, want, worstError(got, want, atol: 0, rtol: 1e-30)))")
    }
}

@Test func powByScalarShortcutsAreExact() {
    let a: [Float] = [-3, -0.5, 0, 1.5, 7]
    for e: Float in [2, 1, 0.5, 3] {
        var got = [Float](repeating: 0, count: a.count)
        Elementwise.binary(.pow, a: a, aShape: [5], b: [e], bShape: [], out: &got, outShape: [5])
        let want = a.map { powf($0, e) }
        #expect(got.elementsEqual(want) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "pow by \(e): \(got) vs \(want)")
    }
}

@Test func genericBinaryAndWhere() throws {
    let pool = testPool
    var rng = TestRNG(seed: 9)
    for (sa, sb) in shapePairs {
        let out = try Broadcast.shape(sa, sb), n = out.reduce(1, *)
        let a = (0..<sa.reduce(1, *)).map { _ in Int64(rng.next() % 100) - 50 }
        let b = (0..<sb.reduce(1, *)).map { _ in Int64(rng.next() % 100) - 50 }
        var lt = [Bool](repeating: false, count: n)
        Elementwise.binary(a: a, aShape: sa, b: b, bShape: sb, out: &lt, outShape: out, pool: pool) { $0 < $1 }
        let want = (0..<n).map { a[sourceIndex($0, out: out, shape: sa)] < b[sourceIndex($0, out: out, shape: sb)] }
        let bad = (0..<n).filter { lt[$0] != want[$0] }
        #expect(bad.isEmpty, "Less int64 \(sa) vs \(sb): \(bad.count) wrong, first at \(bad.first ?? -1)")

        let c = try Broadcast.shape(out, [1])
        var sel = [Int64](repeating: 0, count: n)
        Elementwise.select(condition: lt, conditionShape: out, x: a, xShape: sa, y: b, yShape: sb,
                           out: &sel, outShape: c, pool: pool)
        let wantSel = (0..<n).map { want[$0] ? a[sourceIndex($0, out: out, shape: sa)] : b[sourceIndex($0, out: out, shape: sb)] }
        let badSel = (0..<n).filter { sel[$0] != wantSel[$0] }
        #expect(badSel.isEmpty, "Where \(out) ? \(sa) : \(sb): \(badSel.count) wrong, first at \(badSel.first ?? -1)")
    }
    // Condition broadcast against the values.
    var o = [Float](repeating: 0, count: 6)
    Elementwise.select(condition: [true, false, true], conditionShape: [3], x: [1, 2, 3, 4, 5, 6], xShape: [2, 3],
                       y: [-1], yShape: [], out: &o, outShape: [2, 3])
    #expect(o == [1, -1, 3, 4, -1, 6])
}

@Test func broadcastPlanMergesRuns() {
    let bias = BroadcastPlan(outShape: [4, 5, 6], inputShapes: [[4, 5, 6], [6]])
    #expect(bias.runLength == 6 && bias.runCount == 20 && bias.innerStride(1) == 1)
    let same = BroadcastPlan(outShape: [1, 4, 1, 6], inputShapes: [[4, 1, 6], [1, 4, 1, 6]])
    #expect(same.runLength == 24 && same.runCount == 1)
    let scalar = BroadcastPlan(outShape: [3, 7], inputShapes: [[3, 7], []])
    #expect(scalar.runLength == 21 && scalar.innerStride(1) == 0)
}
