import Testing
import Foundation
@testable import PetrelKernels

private let specials: [Float] = [0, -0.0, 1e-20, -1e-20, 1e-6, 0.5, -0.5, 1, -1, 3.9, -3.9, 4.5, -4.5, 8, -8,
                                 20, -20, 87, -87, 88.5, -88.5, 89, -89, 100, -104, -110,
                                 .infinity, -.infinity, .nan]

/// Every transcendental of the AVX2 family against the libm reference family, on a dense sweep plus
/// the edges (±inf, NaN, underflow/overflow boundaries) and lengths that are not multiples of 8.
@Test(arguments: ["exp", "erf", "tanh", "sigmoid", "gelu", "geluTanh"])
func avx2TranscendentalMatchesLibm(_ name: String) throws {
    guard ISA.detected >= .avx2 else { return }
    let fast = VectorKernels(isa: .avx2), ref = VectorKernels(isa: .reference)
    func pick(_ v: VectorKernels) -> VectorKernels.Unary {
        switch name {
        case "exp": return v.exp
        case "erf": return v.erf
        case "tanh": return v.tanh
        case "sigmoid": return v.sigmoid
        case "gelu": return v.gelu
        default: return v.geluTanh
        }
    }
    let lo: Float = name == "exp" ? -100 : -12, hi: Float = name == "exp" ? 88 : 12
    let sweep = (0..<20_001).map { lo + (hi - lo) * Float($0) / 20_000 }
    for n in [0, 1, 7, 8, 9, 17, specials.count, sweep.count] {
        let x = n == specials.count ? specials : Array((specials + sweep).prefix(n))
        var got = [Float](repeating: -7, count: n), want = got
        pick(fast)(x, &got, n); pick(ref)(x, &want, n)
        // erf/tanh/gelu: ~1e-6 absolute near ±1 / cancellation; exp/sigmoid: a few ulp relative.
        let atol: Float = name == "exp" || name == "sigmoid" ? 1e-37 : 1.5e-6
        let r = worstError(got, want, atol: atol, rtol: 1e-6)
        #expect(r.0 <= 1, "\(name) n=\(n): \(describe(got, want, r)) at x=\(r.1 >= 0 ? x[r.1] : 0)")
    }
}

@Test func avx2RowKernelsMatchReference() {
    guard ISA.detected >= .avx2 else { return }
    let fast = VectorKernels(isa: .avx2), ref = VectorKernels(isa: .reference)
    var rng = TestRNG(seed: 5)
    for n in [1, 3, 8, 15, 16, 17, 33, 100, 1000] {
        let x = rng.floats(n, -30, 30)
        #expect(fast.max(x, n) == ref.max(x, n), "max n=\(n)")
        #expect(Swift.abs(fast.sum(x, n) - ref.sum(x, n)) <= 1e-4 * Float(n), "sum n=\(n)")
        var a = [Float](repeating: 0, count: n), b = a
        let sa = fast.expShiftSum(x, &a, n, 30), sb = ref.expShiftSum(x, &b, n, 30)
        #expect(Swift.abs(sa - sb) <= 1e-5 * sb, "expShiftSum n=\(n): \(sa) vs \(sb)")
        #expect(worstError(a, b, atol: 1e-30, rtol: 1e-6).0 <= 1, "expShiftSum values n=\(n)")
    }
}

private let allUnary: [UnaryOp] = [
    .identity, .relu, .leakyRelu(alpha: 0.1), .clip(min: -0.5, max: 0.7), .sigmoid, .hardSigmoid(alpha: 0.2, beta: 0.5),
    .hardSwish, .tanh, .erf, .gelu, .geluTanh, .exp, .log, .sqrt, .reciprocal, .neg, .abs, .floor, .ceil, .round,
    .sign, .softplus, .softsign, .elu(alpha: 1.5), .selu(alpha: 1.67, gamma: 1.05), .celu(alpha: 0.8), .mish, .silu,
    .sin, .cos,
]

/// Elementwise.unary (vector paths, chunked over the pool, in place or not) against the scalar
/// reference `UnaryOp.apply`.
@Test func unaryOpsMatchScalarReference() {
    let pool = testPool
    var rng = TestRNG(seed: 11)
    for op in allUnary {
        for n in [1, 13, 70_001] {
            let x = rng.floats(n, -6, 6) + [0, -0.0, .infinity, -.infinity]
            let want = x.map { op.apply($0) }
            var got = [Float](repeating: 0, count: x.count)
            Elementwise.unary(op, x: x, y: &got, count: x.count, pool: pool)
            let r = worstError(got, want, atol: 2e-6, rtol: 2e-6)
            #expect(r.0 <= 1, "\(op) n=\(x.count): \(describe(got, want, r)) x=\(r.1 >= 0 ? x[r.1] : 0)")
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { Elementwise.unary(op, x: $0.baseAddress!, y: $0.baseAddress!, count: $0.count) }
            #expect(inPlace.elementsEqual(got) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(op) in place n=\(x.count)")
        }
    }
}

@Test func applyMatchesActivationReference() {
    let x: [Float] = (0..<37).map { Float($0) * 0.37 - 6 }
    for a: Activation in [.none, .relu, .leakyRelu(alpha: 0.01), .clip(min: 0, max: 6), .sigmoid, .tanh, .gelu] {
        var y = [Float](repeating: 0, count: x.count)
        Elementwise.apply(a, x: x, y: &y, count: x.count)
        let want = x.map { a.apply($0) }
        let r = worstError(y, want, atol: 2e-6, rtol: 2e-6)
        #expect(r.0 <= 1, "\(a): \(describe(y, want, r))")
    }
}

/// `softmaxRows` gives the very bits of the three row passes it fuses (max, exp-and-sum, scale),
/// for every row length around its one- and two-register forms, with -inf, NaN and all -inf rows.
@Test(arguments: [ISA.reference, .avx2])
func softmaxRowsMatchTheThreePasses(_ isa: ISA) {
    guard ISA.detected >= isa else { return }
    let v = VectorKernels(isa: isa)
    var rng = TestRNG(seed: 4)
    for n in 1...20 {
        let rows = 5
        var x = rng.floats(rows * n, -30, 30)
        x[n / 2] = -.infinity                                      // row 0: one masked key
        if n > 1 { x[n + n / 2] = .nan }                           // row 1: NaN propagates
        for j in 0..<n { x[2 * n + j] = -.infinity }               // row 2: all masked
        var got = [Float](repeating: 7, count: x.count + 3), want = got   // the 3 past the end stay 7
        v.softmaxRows(x, &got, rows, n)
        for r in 0..<rows {
            x.withUnsafeBufferPointer { xb in
                want.withUnsafeMutableBufferPointer { wb in
                    let row = xb.baseAddress! + r * n, out = wb.baseAddress! + r * n
                    let m = v.max(row, n)
                    let s = v.expShiftSum(row, out, n, m)
                    v.scaleShift(out, out, n, 1 / s, 0)
                }
            }
        }
        #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(isa) n=\(n)")
    }
}

/// `softmaxNumerators` (AVX2) against the reference family: the masked exps and 1/Σ per row, for
/// a mask per key, one mask value per row, and none, on lengths around the 16-float loop.
@Test func softmaxNumeratorsMatchReference() {
    guard ISA.detected >= .avx2 else { return }
    let fast = VectorKernels(isa: .avx2), ref = VectorKernels(isa: .reference)
    var rng = TestRNG(seed: 9)
    for n in [1, 15, 16, 17, 33, 128] {
        let rows = 3
        let scores = rng.floats(rows * n, -8, 8), mask = rng.floats(rows * n, -4, 0)
        for keyStride in [-1, 0, 1] {   // -1: no mask
            var got = scores, want = scores
            var gotInv = [Float](repeating: 0, count: rows), wantInv = gotInv
            mask.withUnsafeBufferPointer { m in
                let base = keyStride < 0 ? nil : m.baseAddress
                fast.softmaxNumerators(&got, rows, n, base, n, max(keyStride, 0), &gotInv)
                ref.softmaxNumerators(&want, rows, n, base, n, max(keyStride, 0), &wantInv)
            }
            let r = worstError(got + gotInv, want + wantInv, atol: 1e-7, rtol: 1e-5)
            #expect(r.0 <= 1, "n=\(n) key stride \(keyStride): \(describe(got + gotInv, want + wantInv, r))")
        }
    }
}
