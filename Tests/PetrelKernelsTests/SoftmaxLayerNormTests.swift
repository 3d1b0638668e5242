import Testing
import Foundation
@testable import PetrelKernels

/// Double-precision numpy-style softmax over the middle dim.
private func naiveSoftmax(_ x: [Float], outer: Int, axis: Int, inner: Int, log: Bool) -> [Float] {
    var y = [Float](repeating: 0, count: x.count)
    for o in 0..<outer { for i in 0..<inner {
        let idx = (0..<axis).map { (o * axis + $0) * inner + i }
        let m = idx.map { Double(x[$0]) }.max()!
        let e = idx.map { Foundation.exp(Double(x[$0]) - m) }
        let s = e.reduce(0, +)
        for (k, j) in idx.enumerated() { y[j] = Float(log ? Double(x[j]) - m - Foundation.log(s) : e[k] / s) }
    } }
    return y
}

@Test func softmaxMatchesNaive() {
    let pool = testPool
    var rng = TestRNG(seed: 21)
    for (outer, axis, inner) in [(1, 1, 1), (3, 7, 1), (2, 1, 5), (5, 33, 1), (2, 9, 3), (1, 17, 300), (64, 129, 1), (2, 3, 517)] {
        for log in [false, true] {
            let x = rng.floats(outer * axis * inner, -20, 20)
            var y = [Float](repeating: .nan, count: x.count)
            Softmax.run(x: x, y: &y, outer: outer, axis: axis, inner: inner, log: log, pool: pool)
            let want = naiveSoftmax(x, outer: outer, axis: axis, inner: inner, log: log)
            let r = worstError(y, want, atol: 3e-6, rtol: 1e-5)
            #expect(r.0 <= 1, "softmax log=\(log) [\(outer), \(axis), \(inner)]: \(describe(y, want, r))")
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer {
                Softmax.run(x: $0.baseAddress!, y: $0.baseAddress!, outer: outer, axis: axis, inner: inner, log: log)
            }
            #expect(inPlace == y, "softmax in place log=\(log) [\(outer), \(axis), \(inner)]")
        }
    }
}

@Test func softmaxInfinitiesLikeNumpy() {
    let ninf = -Float.infinity
    for inner in [1, 2] {
        // Rows (along axis): [0, -inf, 1], [-inf, -inf, -inf]; columns interleaved when inner == 2.
        let rows: [[Float]] = [[0, ninf, 1], [ninf, ninf, ninf]]
        let x: [Float] = inner == 1 ? rows[0] + rows[1] : (0..<3).flatMap { [rows[0][$0], rows[1][$0]] }
        for log in [false, true] {
            var y = [Float](repeating: 0, count: 6)
            Softmax.run(x: x, y: &y, outer: inner == 1 ? 2 : 1, axis: 3, inner: inner, log: log)
            let first = inner == 1 ? Array(y[0..<3]) : [y[0], y[2], y[4]]
            let second = inner == 1 ? Array(y[3..<6]) : [y[1], y[3], y[5]]
            #expect(first[1] == (log ? ninf : 0), "inner=\(inner) log=\(log) -inf entry: \(first)")
            #expect(second.allSatisfy { $0.isNaN }, "inner=\(inner) log=\(log) all -inf row: \(second)")
        }
    }
}

@Test func layerNormMatchesNaive() {
    let pool = testPool
    var rng = TestRNG(seed: 8)
    for (rows, cols) in [(1, 1), (3, 7), (4, 16), (5, 33), (128, 384), (2, 1001)] {
        for withBias in [false, true] {
            let x = rng.floats(rows * cols, -3, 3).map { $0 + 100 } // large mean: two-pass variance matters
            let scale = rng.floats(cols, 0.5, 1.5), bias = rng.floats(cols)
            var y = [Float](repeating: .nan, count: x.count), mean = [Float](repeating: 0, count: rows), inv = mean
            LayerNorm.run(x: x, scale: scale, bias: withBias ? bias : nil, y: &y, rows: rows, cols: cols, epsilon: 1e-5,
                          mean: &mean, invStdDev: &inv, pool: pool)
            var want = [Float](), wantMean = [Float](), wantInv = [Float]()
            for r in 0..<rows {
                let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
                let m = row.reduce(0, +) / Double(cols)
                let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(cols)
                let s = 1 / (v + 1e-5).squareRoot()
                wantMean.append(Float(m)); wantInv.append(Float(s))
                for c in 0..<cols { want.append(Float((row[c] - m) * s * Double(scale[c]) + (withBias ? Double(bias[c]) : 0))) }
            }
            let r = worstError(y, want, atol: 1e-4, rtol: 1e-4)
            #expect(r.0 <= 1, "layernorm [\(rows), \(cols)] bias=\(withBias): \(describe(y, want, r))")
            #expect(worstError(mean, wantMean, atol: 1e-5, rtol: 1e-6).0 <= 1, "layernorm mean [\(rows), \(cols)]")
            #expect(worstError(inv, wantInv, atol: 1e-5, rtol: 1e-4).0 <= 1, "layernorm invStdDev [\(rows), \(cols)]")
        }
    }
}

/// With a skip input the row normalised is x + skip, bit for bit the unfused Add then LayerNorm,
/// also when the output is one of the inputs (the planner may hand the sum's buffer over).
@Test func layerNormWithSkipIsAddThenLayerNorm() {
    let pool = testPool
    var rng = TestRNG(seed: 9)
    for (rows, cols) in [(1, 5), (7, 33), (128, 384)] {
        let x = rng.floats(rows * cols, -3, 3), skip = rng.floats(rows * cols, -3, 3)
        let scale = rng.floats(cols, 0.5, 1.5), bias = rng.floats(cols)
        let sum = zip(x, skip).map { $0 + $1 }
        var want = [Float](repeating: .nan, count: x.count)
        LayerNorm.run(x: sum, scale: scale, bias: bias, y: &want, rows: rows, cols: cols, pool: pool)
        var y = [Float](repeating: .nan, count: x.count)
        LayerNorm.run(x: x, skip: skip, scale: scale, bias: bias, y: &y, rows: rows, cols: cols, pool: pool)
        #expect(y == want, "[\(rows), \(cols)]")
        var inPlace = x
        inPlace.withUnsafeMutableBufferPointer { p in
            LayerNorm.run(x: p.baseAddress!, skip: skip, scale: scale, bias: bias, y: p.baseAddress!, rows: rows, cols: cols, pool: pool)
        }
        #expect(inPlace == want, "[\(rows), \(cols)] in place")
    }
}
