import Testing
import Foundation
@testable import PetrelKernels

/// softmax(scale·QKᵀ + mask)·V per (batch, head) in doubles, straight from the definition, on
/// [batch, seq, heads, dim] tensors; the mask is given by its dims (1 = broadcast).
private func naiveAttention(_ s: AttentionShape, _ q: [Float], _ k: [Float], _ v: [Float],
                            mask: (values: [Float], dims: [Int])?, scale: Float) -> [Float] {
    let (h, sq, skv, d, dv) = (s.heads, s.queries, s.keys, s.dim, s.valueDim)
    var out = [Float](repeating: 0, count: s.batch * sq * h * dv)
    for b in 0..<s.batch { for hd in 0..<h { for i in 0..<sq {
        var scores = [Double](repeating: 0, count: skv)
        for j in 0..<skv {
            var dot = 0.0
            for x in 0..<d { dot += Double(q[((b * sq + i) * h + hd) * d + x]) * Double(k[((b * skv + j) * h + hd) * d + x]) }
            var sc = Double(Float(dot) * scale)
            if let mask {
                let idx = [b, hd, i, j].enumerated().reduce(0) { acc, e in acc * mask.dims[e.offset] + (mask.dims[e.offset] == 1 ? 0 : e.element) }
                sc += Double(mask.values[idx])
            }
            scores[j] = sc
        }
        let m = scores.max()!
        let e = scores.map { m == -.infinity ? Double.nan : Foundation.exp($0 - m) }, sum = e.reduce(0, +)
        for x in 0..<dv {
            var acc = 0.0
            for j in 0..<skv { acc += e[j] / sum * Double(v[((b * skv + j) * h + hd) * dv + x]) }
            out[((b * sq + i) * h + hd) * dv + x] = Float(acc)
        }
    } } }
    return out
}

/// Shapes around the GEMM tiles (6 rows, 16 columns), masks of each broadcast form, a fully
/// masked row (NaN, as the unfused Softmax gives), with and without threads.
@Test func attentionMatchesNaive() {
    var rng = TestRNG(seed: 5)
    let shapes = [AttentionShape(batch: 2, heads: 3, queries: 5, keys: 7, dim: 4, valueDim: 6),
                  AttentionShape(batch: 1, heads: 2, queries: 17, keys: 33, dim: 8, valueDim: 8),
                  AttentionShape(batch: 3, heads: 1, queries: 1, keys: 1, dim: 3, valueDim: 2)]
    for (n, s) in shapes.enumerated() {
        let q = rng.floats(s.batch * s.queries * s.heads * s.dim), k = rng.floats(s.batch * s.keys * s.heads * s.dim)
        let v = rng.floats(s.batch * s.keys * s.heads * s.valueDim)
        let masks: [[Int]?] = [nil, [s.batch, 1, 1, s.keys], [s.batch, 1, s.queries, s.keys], [1, s.heads, s.queries, s.keys],
                               [s.batch, 1, s.queries, 1]]
        for (mi, dims) in masks.enumerated() {
            var mask: (values: [Float], dims: [Int])?
            if let dims {
                var values = rng.floats(dims.reduce(1, *), -3, 1)
                if mi == 2 && s.keys > 1 { for j in 0..<s.keys { values[j] = -.infinity } }  // batch 0, query 0: all masked
                mask = (values, dims)
            }
            for pool in [nil, testPool] as [ThreadPool?] {
                var out = [Float](repeating: .nan, count: s.batch * s.queries * s.heads * s.valueDim)
                var scratch = [Float](repeating: .nan, count: Attention.scratchFloats(s, threads: pool?.threads ?? 1))
                let strides: (Int, Int, Int, Int)? = mask.map { m in
                    let d = m.dims
                    return (d[0] == 1 ? 0 : d[1] * d[2] * d[3], d[1] == 1 ? 0 : d[2] * d[3], d[2] == 1 ? 0 : d[3], d[3] == 1 ? 0 : 1)
                }
                (mask?.values ?? []).withUnsafeBufferPointer { mv in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        let am = strides.map { AttentionMask(base: mv.baseAddress!, strides: $0) }
                        Attention.run(s, q: q, k: k, v: v, mask: am, scale: 0.7, out: &out, scratch: sp.baseAddress!, pool: pool)
                    }
                }
                let want = naiveAttention(s, q, k, v, mask: mask, scale: 0.7)
                let r = worstError(out, want, atol: 1e-5, rtol: 1e-4)
                #expect(r.0 <= 1, "shape #\(n) mask \(dims ?? []) threads \(pool?.threads ?? 1): \(describe(out, want, r))")
            }
        }
    }
}
