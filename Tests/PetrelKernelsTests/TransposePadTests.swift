import Testing
import Foundation
@testable import PetrelKernels

private func naiveTranspose<T>(_ x: [T], _ shape: [Int], _ perm: [Int]) -> [T] {
    let out = perm.map { shape[$0] }
    let inStrides = Broadcast.contiguousStrides(shape)
    return (0..<x.count).map { o in
        var rem = o, src = 0
        for k in stride(from: out.count - 1, through: 0, by: -1) { src += (rem % out[k]) * inStrides[perm[k]]; rem /= out[k] }
        return x[src]
    }
}

private let transposeCases: [([Int], [Int])] = [
    ([5], [0]), ([3, 7], [1, 0]), ([33, 17], [1, 0]), ([2, 9, 3, 4], [0, 2, 1, 3]), ([2, 1, 3, 5], [0, 2, 1, 3]),
    ([2, 3, 4, 5], [3, 2, 1, 0]), ([2, 3, 4, 5], [0, 3, 1, 2]), ([2, 3, 4, 5], [1, 2, 3, 0]), ([1, 1, 6], [2, 0, 1]),
    ([4, 1, 3, 1], [3, 2, 1, 0]), ([3, 2, 19, 21], [0, 1, 3, 2]), ([2, 3, 2, 3, 2], [4, 0, 3, 1, 2]), ([128, 12, 32], [1, 0, 2]),
]

@Test func transposeMatchesNaiveForEveryElementSize() {
    let pool = testPool
    for (shape, perm) in transposeCases {
        let n = shape.reduce(1, *)
        func check<T: FixedWidthInteger>(_: T.Type) {
            let x = (0..<n).map { T(truncatingIfNeeded: $0 &* 7 &+ 1) }
            var y = [T](repeating: 0, count: n)
            x.withUnsafeBytes { s in y.withUnsafeMutableBytes { d in
                Transpose.run(src: s.baseAddress!, dst: d.baseAddress!, elementSize: MemoryLayout<T>.size,
                              shape: shape, perm: perm, pool: pool)
            } }
            #expect(y == naiveTranspose(x, shape, perm), "transpose \(T.self) shape \(shape) perm \(perm)")
        }
        check(UInt8.self); check(UInt16.self); check(UInt32.self); check(UInt64.self)
    }
    // An odd element size (3 bytes) takes the byte-copy path.
    let x = (0..<24).map { UInt8($0) }, shape = [2, 4], perm = [1, 0]
    var y = [UInt8](repeating: 0, count: 24)
    x.withUnsafeBytes { s in y.withUnsafeMutableBytes { d in
        Transpose.run(src: s.baseAddress!, dst: d.baseAddress!, elementSize: 3, shape: shape, perm: perm)
    } }
    let triples: [[UInt8]] = (0..<8).map { (i: Int) -> [UInt8] in Array(x[(3 * i)..<(3 * i + 3)]) }
    let want: [UInt8] = naiveTranspose(triples, shape, perm).flatMap { $0 }
    #expect(y == want, "transpose 3-byte elements \(shape) \(perm)")
}

/// Reference Pad: crop negative pads first, then extend by mode (numpy.pad semantics).
private func naivePad(_ x: [Int32], _ shape: [Int], _ pads: [Int], _ mode: PadMode, _ value: Int32) -> [Int32] {
    let r = shape.count, out = Pad.outputShape(shape, pads: pads), strides = Broadcast.contiguousStrides(shape)
    return (0..<out.reduce(1, *)).map { o in
        var rem = o, src = 0
        for i in stride(from: r - 1, through: 0, by: -1) {
            let oi = rem % out[i]; rem /= out[i]
            let crop = Swift.max(-pads[i], 0), m = shape[i] - crop - Swift.max(-pads[r + i], 0)
            var j = oi - Swift.max(pads[i], 0)
            if j < 0 || j >= m {
                switch mode {
                case .constant: return value
                case .edge: j = j < 0 ? 0 : m - 1
                case .wrap: j = ((j % m) + m) % m
                case .reflect:
                    while j < 0 || j >= m { j = j < 0 ? -j : 2 * (m - 1) - j; if m == 1 { j = 0 } }
                }
            }
            src += (j + crop) * strides[i]
        }
        return x[src]
    }
}

@Test(arguments: [PadMode.constant, .reflect, .edge, .wrap])
func padMatchesNaive(_ mode: PadMode) {
    let pool = testPool
    let cases: [([Int], [Int])] = [
        ([5], [2, 3]), ([5], [0, 0]), ([4], [-1, 2]), ([1], [2, 2]), ([3, 4], [1, 2, 2, 1]), ([3, 4], [-1, 0, 1, -2]),
        ([2, 3, 4], [0, 1, 1, 1, 0, 2]), ([2, 3, 5, 7], [0, 0, 1, 1, 0, 0, 1, 3]), ([3, 4], [5, 7, 6, 9]),
        ([2, 2, 3], [1, -1, 0, -1, 2, 4]),
    ]
    for (shape, pads) in cases {
        let x = (0..<shape.reduce(1, *)).map { Int32($0 + 1) }
        let out = Pad.outputShape(shape, pads: pads)
        var y = [Int32](repeating: -99, count: out.reduce(1, *))
        var value: Int32 = -5
        x.withUnsafeBytes { s in y.withUnsafeMutableBytes { d in
            Pad.run(src: s.baseAddress!, dst: d.baseAddress!, elementSize: 4, shape: shape, pads: pads, mode: mode,
                    constantValue: &value, pool: pool)
        } }
        #expect(y == naivePad(x, shape, pads, mode, value), "pad \(mode) shape \(shape) pads \(pads) → \(out)")
    }
}
