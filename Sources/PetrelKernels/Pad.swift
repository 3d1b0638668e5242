#if canImport(Glibc)
import Glibc
#endif

/// ONNX Pad (opset 19+ modes) for any element size and rank.
public enum PadMode: Equatable, Sendable { case constant, reflect, edge, wrap }

/// Negative pads crop first; the remaining positive pads then extend the cropped tensor (so edge,
/// reflect and wrap read the cropped data, as onnxruntime does). Each output row copies its
/// in-range middle with one memcpy and maps only the few padded elements one by one.
public enum Pad {
    /// Output shape for `pads` = [begin_0, ..., begin_{r-1}, end_0, ..., end_{r-1}].
    public static func outputShape(_ shape: [Int], pads: [Int]) -> [Int] {
        shape.indices.map { shape[$0] + pads[$0] + pads[shape.count + $0] }
    }

    /// `constantValue` points at one element (nil: zero bytes); used only by `.constant`.
    public static func run(src: UnsafeRawPointer, dst: UnsafeMutableRawPointer, elementSize es: Int,
                           shape: [Int], pads: [Int], mode: PadMode, constantValue: UnsafeRawPointer? = nil,
                           pool: ThreadPool? = nil) {
        let r = shape.count
        precondition(pads.count == 2 * r, "pad: \(pads.count) pads for rank \(r) (need \(2 * r))")
        let out = outputShape(shape, pads: pads)
        precondition(out.allSatisfy { $0 >= 0 }, "pad: pads \(pads) crop shape \(shape) below zero")
        let total = out.reduce(1, *)
        if total == 0 { return }
        if r == 0 { memcpy(dst, src, es); return }
        if mode != .constant {
            for i in 0..<r where out[i] > 0 {
                precondition(shape[i] + Swift.min(pads[i], 0) + Swift.min(pads[r + i], 0) > 0,
                             "pad: \(mode) padding of axis \(i) needs a non-empty input (shape \(shape), pads \(pads))")
            }
        }
        let inStrides = Broadcast.contiguousStrides(shape)
        let w = out[r - 1], rows = total / w
        let pb = pads[r - 1], n = shape[r - 1]
        // Middle of each output row that is a straight copy: output columns [lo, hi).
        let lo = Swift.max(pb, 0), hi = Swift.min(w, pb + n)
        parallelRanges(rows, grain: Swift.max(1, (1 << 18) / Swift.max(1, w * es)),
                       pool: total * es >= 1 << 18 ? pool : nil) { range in
            for row in range {
                let d = dst + row * w * es
                // Source offset of this row, or nil when an outer index lands in constant padding.
                var rem = row, off: Int? = 0
                for i in stride(from: r - 2, through: 0, by: -1) {
                    let oi = rem % out[i]; rem /= out[i]
                    if let s = map(oi, n: shape[i], begin: pads[i], end: pads[r + i], mode) { off = off.map { $0 + s * inStrides[i] } }
                    else { off = nil; break }
                }
                guard let base = off else { fill(d, w, es, constantValue); continue }
                let s = src + base * es
                if hi > lo { memcpy(d + lo * es, s + (lo - pb) * es, (hi - lo) * es) }
                for c in 0..<Swift.min(lo, w) { edge(c) }
                for c in Swift.max(hi, lo)..<w { edge(c) }
                func edge(_ c: Int) {
                    if let j = map(c, n: n, begin: pb, end: pads[2 * r - 1], mode) { memcpy(d + c * es, s + j * es, es) }
                    else { fill(d + c * es, 1, es, constantValue) }
                }
            }
        }
    }

    /// Source index along one axis for output index i, or nil for constant padding.
    @inline(__always) static func map(_ i: Int, n: Int, begin: Int, end: Int, _ mode: PadMode) -> Int? {
        let cropB = Swift.max(-begin, 0), m = n - cropB - Swift.max(-end, 0)
        let j = i - Swift.max(begin, 0)
        if j >= 0 && j < m { return j + cropB }
        switch mode {
        case .constant: return nil
        case .edge: return (j < 0 ? 0 : m - 1) + cropB
        case .wrap: return ((j % m) + m) % m + cropB
        case .reflect:
            if m == 1 { return cropB }
            let p = 2 * (m - 1)
            var k = ((j % p) + p) % p
            if k >= m { k = p - k }
            return k + cropB
        }
    }

    static func fill(_ d: UnsafeMutableRawPointer, _ count: Int, _ es: Int, _ value: UnsafeRawPointer?) {
        guard let v = value else { memset(d, 0, count * es); return }
        switch es {
        case 4: let x = v.loadUnaligned(as: UInt32.self); let p = d.assumingMemoryBound(to: UInt32.self); for i in 0..<count { p[i] = x }
        case 8: let x = v.loadUnaligned(as: UInt64.self); let p = d.assumingMemoryBound(to: UInt64.self); for i in 0..<count { p[i] = x }
        default: for i in 0..<count { memcpy(d + i * es, v, es) }
        }
    }
}
