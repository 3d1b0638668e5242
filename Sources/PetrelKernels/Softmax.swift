#if canImport(Glibc)
import Glibc
#endif

/// Softmax / LogSoftmax over the middle dim of a contiguous [outer, axis, inner] tensor (ONNX
/// opset 13+: `axis` and everything after it flattened as the caller chooses).
/// Numerically stable (subtracts the max) and numpy-exact at the edges: -inf inputs give 0 (log:
/// -inf), a row of all -inf gives NaN, NaN propagates.
public enum Softmax {
    public static func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                           outer: Int, axis: Int, inner: Int, log: Bool = false, pool: ThreadPool? = nil) {
        guard outer > 0, axis > 0, inner > 0 else { return }
        if inner == 1 {
            parallelRanges(outer, grain: Swift.max(1, parallelGrain / 8 / axis), pool: pool) { r in
                if log {
                    for row in r { rowLogSoftmax(x + row * axis, y + row * axis, axis) }
                } else {
                    KernelTable.current.vector.softmaxRows(x + r.lowerBound * axis, y + r.lowerBound * axis, r.count, axis)
                }
            }
        } else {
            // Blocks of [axis, tile] columns keep the running max and sum in a stack tile while the
            // rows stream through contiguously.
            let tiles = (inner + tileWidth - 1) / tileWidth
            parallelRanges(outer * tiles, grain: Swift.max(1, parallelGrain / 8 / (axis * Swift.min(inner, tileWidth))),
                           pool: pool) { r in
                for t in r {
                    let o = t / tiles, c0 = (t % tiles) * tileWidth
                    let base = o * axis * inner + c0
                    columnSoftmax(x + base, y + base, rows: axis, cols: Swift.min(tileWidth, inner - c0),
                                  stride: inner, log: log)
                }
            }
        }
    }

    static let tileWidth = 256

    /// LogSoftmax of one row: y = x − (m + log Σexp(x − m)); the exps go to a stack tile so x may
    /// alias y. (Softmax rows run in `VectorKernels.softmaxRows`.)
    static func rowLogSoftmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let v = KernelTable.current.vector
        let m = v.max(x, n)
        var s: Float = 0
        withUnsafeTemporaryAllocation(of: Float.self, capacity: tileWidth) { t in
            var i = 0
            while i < n {
                let k = Swift.min(tileWidth, n - i)
                s += v.expShiftSum(x + i, t.baseAddress!, k, m)
                i += k
            }
        }
        v.scaleShift(x, y, n, 1, -(m + logf(s)))
    }

    static func columnSoftmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                              rows: Int, cols: Int, stride: Int, log: Bool) {
        let v = KernelTable.current.vector
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * tileWidth) { buf in
            let m = buf.baseAddress!, s = m + tileWidth
            for j in 0..<cols { m[j] = -.infinity; s[j] = 0 }
            for r in 0..<rows {
                let row = x + r * stride
                for j in 0..<cols { let a = row[j]; m[j] = a > m[j] || a.isNaN ? a : m[j] }
            }
            for r in 0..<rows {
                let row = x + r * stride, out = y + r * stride
                if log {
                    // Keep x intact (it may alias y): exp into the tail of the tile buffer is not
                    // available, so accumulate scalar exps here; LogSoftmax over a non-last axis is rare.
                    for j in 0..<cols { s[j] += expf(row[j] - m[j]) }
                } else {
                    for j in 0..<cols { out[j] = row[j] - m[j] }
                    v.exp(out, out, cols)
                    for j in 0..<cols { s[j] += out[j] }
                }
            }
            if log {
                for j in 0..<cols { s[j] = m[j] + logf(s[j]) }
                for r in 0..<rows { let row = x + r * stride, out = y + r * stride; for j in 0..<cols { out[j] = row[j] - s[j] } }
            } else {
                for j in 0..<cols { s[j] = 1 / s[j] }
                for r in 0..<rows { let out = y + r * stride; for j in 0..<cols { out[j] *= s[j] } }
            }
        }
    }
}
