import Testing
import Foundation
@testable import PetrelKernels

/// Double-precision reduction over `axes` by walking every input element.
private func naiveReduce(_ op: ReduceOp, _ x: [Float], _ shape: [Int], _ axes: [Int]) -> [Float] {
    let outShape = Reduce.outputShape(shape, axes: axes, keepDims: true)
    let outCount = outShape.reduce(1, *)
    var groups = [[Double]](repeating: [], count: outCount)
    for i in x.indices {
        var rem = i, o = 0, mul = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            let c = rem % shape[d]; rem /= shape[d]
            if !axes.contains(d) { o += c * mul; mul *= shape[d] }
        }
        groups[o].append(Double(x[i]))
    }
    return groups.map { g -> Float in
        switch op {
        case .sum: return Float(g.reduce(0, +))
        case .mean: return Float(g.reduce(0, +) / Double(g.count))
        case .max: return Float(g.max() ?? -.infinity)
        case .min: return Float(g.min() ?? .infinity)
        case .prod: return Float(g.reduce(1, *))
        case .sumSquare: return Float(g.map { $0 * $0 }.reduce(0, +))
        case .l1: return Float(g.map(Swift.abs).reduce(0, +))
        case .l2: return Float(g.map { $0 * $0 }.reduce(0, +).squareRoot())
        case .logSum: return Float(Foundation.log(g.reduce(0, +)))
        case .logSumExp: let m = g.max()!; return Float(m + Foundation.log(g.map { Foundation.exp($0 - m) }.reduce(0, +)))
        }
    }
}

private let reduceCases: [([Int], [Int])] = [
    ([7], [0]), ([7], []), ([3, 5], [1]), ([3, 5], [0]), ([3, 5], [0, 1]), ([2, 3, 4, 5], [1]), ([2, 3, 4, 5], [2, 3]),
    ([2, 3, 4, 5], [0, 2]), ([2, 3, 4, 5], [1, 3]), ([2, 1, 9, 1, 3], [1, 2]), ([1, 1, 1], [0, 2]), ([4, 300, 17], [1]),
    ([129, 33], [1]), ([5, 2, 3], [0, 1, 2]),
]

@Test(arguments: ReduceOp.allCases)
func reduceMatchesNaive(_ op: ReduceOp) {
    let pool = testPool
    var rng = TestRNG(seed: 17)
    for (shape, axes) in reduceCases {
        let lo: Float = op == .logSum ? 0.01 : -2, hi: Float = op == .prod ? 1.1 : 2
        let x = rng.floats(shape.reduce(1, *), op == .prod ? 0.9 : lo, hi)
        let want = naiveReduce(op, x, shape, axes)
        var y = [Float](repeating: .nan, count: want.count)
        Reduce.run(op, x: x, shape: shape, axes: axes, y: &y, pool: pool)
        let r = worstError(y, want, atol: 1e-5, rtol: 2e-5)
        #expect(r.0 <= 1, "reduce \(op) shape \(shape) axes \(axes): \(describe(y, want, r))")
    }
}

@Test func reduceEdges() {
    // Empty reduced axis → identity; logSumExp over all -inf → -inf; NaN propagates through max.
    var y: [Float] = [9, 9]
    Reduce.run(.sum, x: [], shape: [2, 0], axes: [1], y: &y)
    #expect(y == [0, 0])
    Reduce.run(.logSumExp, x: [-.infinity, -.infinity, 1, -.infinity], shape: [2, 2], axes: [1], y: &y)
    #expect(y == [-.infinity, 1])
    Reduce.run(.logSumExp, x: [-.infinity, 1, -.infinity, -.infinity], shape: [2, 2], axes: [0], y: &y)
    #expect(y == [-.infinity, 1])
    Reduce.run(.max, x: [1, .nan, 3, 2], shape: [2, 2], axes: [1], y: &y)
    #expect(y[0].isNaN && y[1] == 3)
}
