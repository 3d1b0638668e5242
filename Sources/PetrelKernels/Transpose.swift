#if canImport(Glibc)
import Glibc
#endif

/// ONNX Transpose for any element size. Size-1 dims are dropped and input dims that stay adjacent
/// and in order under `perm` merged first, so [B, S, H, D]·[0, 2, 1, 3] is a copy of B·H·S rows of
/// D elements and any "swap two blocks" permutation becomes a batch of 2-D transposes, done in
/// 16×16 tiles so both sides touch whole cache lines.
public enum Transpose {
    /// dst[perm-permuted index] = src[index]; dst has shape `perm.map { shape[$0] }`.
    public static func run(src: UnsafeRawPointer, dst: UnsafeMutableRawPointer, elementSize: Int,
                           shape: [Int], perm: [Int], pool: ThreadPool? = nil) {
        precondition(perm.count == shape.count && Set(perm) == Set(shape.indices),
                     "transpose: perm \(perm) is not a permutation of the axes of shape \(shape)")
        let total = shape.reduce(1, *)
        if total == 0 { return }
        // Merge: walk output dims in order; an output dim continues the previous group when its
        // input axis is the next input axis (ignoring size-1 axes).
        let kept = perm.filter { shape[$0] != 1 }
        var groups: [[Int]] = []
        for a in kept {
            if let g = groups.last, let prev = g.last, nextNonUnit(after: prev, shape) == a { groups[groups.count - 1].append(a) }
            else { groups.append([a]) }
        }
        // Input order of the groups gives contiguous input strides.
        let inOrder = groups.indices.sorted { groups[$0][0] < groups[$1][0] }
        var inStride = [Int](repeating: 0, count: groups.count)
        var step = 1
        for gi in inOrder.reversed() { inStride[gi] = step; step *= groups[gi].reduce(1) { $0 * shape[$1] } }
        let dims = groups.map { $0.reduce(1) { $0 * shape[$1] } }
        let bytes = total * elementSize
        if dims.count <= 1 || inStride.last == 1 {
            // The innermost run is contiguous on both sides: copy rows.
            let row = (dims.last ?? 1) * elementSize
            let outer = Array(zip(dims.dropLast(), inStride.dropLast()))
            let rows = total / (dims.last ?? 1)
            parallelRanges(rows, grain: Swift.max(1, (1 << 18) / row), pool: bytes >= 1 << 18 ? pool : nil) { r in
                for i in r {
                    memcpy(dst + i * row, src + Reduce.offset(of: i, in: outer) * elementSize, row)
                }
            }
            return
        }
        // 2-D tiles between the output's last dim (input stride sL) and the output dim p whose input
        // stride is 1 (output stride oP); the other dims are an outer loop.
        let p = inStride.firstIndex(of: 1)!
        var outStride = [Int](repeating: 1, count: dims.count)
        for k in stride(from: dims.count - 2, through: 0, by: -1) { outStride[k] = outStride[k + 1] * dims[k + 1] }
        let last = dims.count - 1
        let others = (0..<last).filter { $0 != p }
        let outerIn = others.map { (dims[$0], inStride[$0]) }, outerOut = others.map { (dims[$0], outStride[$0]) }
        let count = others.reduce(1) { $0 * dims[$1] }
        let a = dims[last], sL = inStride[last], b = dims[p], oP = outStride[p]
        parallelRanges(count, grain: Swift.max(1, (1 << 16) / (a * b)), pool: bytes >= 1 << 18 ? pool : nil) { r in
            for i in r {
                let si = Reduce.offset(of: i, in: outerIn), di = Reduce.offset(of: i, in: outerOut)
                switch elementSize {
                case 1: tile(UInt8.self, src, dst, si, di, a, sL, b, oP)
                case 2: tile(UInt16.self, src, dst, si, di, a, sL, b, oP)
                case 4: tile(UInt32.self, src, dst, si, di, a, sL, b, oP)
                case 8: tile(UInt64.self, src, dst, si, di, a, sL, b, oP)
                default:
                    for bi in 0..<b { for ai in 0..<a {
                        memcpy(dst + (di + bi * oP + ai) * elementSize, src + (si + ai * sL + bi) * elementSize, elementSize)
                    } }
                }
            }
        }
    }

    static func nextNonUnit(after a: Int, _ shape: [Int]) -> Int? {
        var i = a + 1
        while i < shape.count && shape[i] == 1 { i += 1 }
        return i < shape.count ? i : nil
    }

    /// dst[di + bi·oP + ai] = src[si + ai·sL + bi] for ai < a, bi < b, in 16×16 tiles.
    @inline(__always)
    static func tile<T>(_: T.Type, _ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer,
                        _ si: Int, _ di: Int, _ a: Int, _ sL: Int, _ b: Int, _ oP: Int) {
        let s = src.assumingMemoryBound(to: T.self) + si, d = dst.assumingMemoryBound(to: T.self) + di
        let t = 16
        var b0 = 0
        while b0 < b {
            let b1 = Swift.min(b, b0 + t)
            var a0 = 0
            while a0 < a {
                let a1 = Swift.min(a, a0 + t)
                for bi in b0..<b1 {
                    let drow = d + bi * oP, scol = s + bi
                    for ai in a0..<a1 { drow[ai] = scol[ai * sL] }
                }
                a0 = a1
            }
            b0 = b1
        }
    }
}
