#if canImport(Glibc)
import Glibc
#endif

/// ONNX Reduce* ops on fp32.
public enum ReduceOp: Equatable, Sendable, CaseIterable {
    case sum, mean, max, min, prod, sumSquare, l1, l2, logSum, logSumExp
}

/// Reductions over any set of axes of a contiguous tensor. Dims of 1 are dropped and adjacent dims of
/// the same kind (kept / reduced) merged, so every case becomes one of two loops:
/// - the last merged dim is reduced: each output is a reduction over contiguous segments;
/// - the last merged dim is kept (length `inner`): whole input rows accumulate into the output row,
///   so memory is read in order (e.g. ReduceMean over H of [N, C, H, W] never strides by W).
public enum Reduce {
    /// Output shape with or without the reduced dims (the output buffer is the same either way).
    public static func outputShape(_ shape: [Int], axes: [Int], keepDims: Bool) -> [Int] {
        keepDims ? shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
                 : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    }

    /// y = op over `axes` (non-negative, sorted, unique; empty means no axis is reduced, so each
    /// output is op over one element, e.g. sumSquare squares). Empty reductions give the identity
    /// (sum 0, prod 1, max -inf, min +inf, logSum/logSumExp -inf, mean NaN) as ONNX does.
    public static func run(_ op: ReduceOp, x: UnsafePointer<Float>, shape: [Int], axes: [Int],
                           y: UnsafeMutablePointer<Float>, pool: ThreadPool? = nil) {
        // Merge into (size, stride, reduced) groups; stride = contiguous stride of the group's last dim.
        var dims: [(size: Int, stride: Int, reduced: Bool)] = []
        var step = 1
        var strides = [Int](repeating: 0, count: shape.count)
        for i in stride(from: shape.count - 1, through: 0, by: -1) { strides[i] = step; step *= shape[i] }
        let total = step
        let reducedCount = axes.reduce(1) { $0 * shape[$1] }
        let outCount = reducedCount == 0 ? shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element).reduce(1, *)
                                         : total / reducedCount
        if reducedCount == 0 || total == 0 {
            for i in 0..<outCount { y[i] = Float(identity(op)) }
            if op == .mean { for i in 0..<outCount { y[i] = .nan } }
            return
        }
        for i in shape.indices where shape[i] != 1 {
            let red = axes.contains(i)
            if let last = dims.last, last.reduced == red {
                dims[dims.count - 1] = (last.size * shape[i], strides[i], red)
            } else {
                dims.append((shape[i], strides[i], red))
            }
        }
        let trailingKept = dims.last.map { !$0.reduced } ?? true
        let inner = trailingKept ? (dims.last?.size ?? 1) : 1
        let segment = trailingKept ? 1 : dims.last!.size
        let body = dims.dropLast()
        let keptOuter = body.filter { !$0.reduced }
        let reducedOuter = body.filter { $0.reduced }
        let groups = keptOuter.reduce(1) { $0 * $1.size }
        let ko = keptOuter.map { ($0.size, $0.stride) }, ro = reducedOuter.map { ($0.size, $0.stride) }
        let outPerGroup = trailingKept ? inner : 1

        parallelRanges(groups, grain: Swift.max(1, parallelGrain / Swift.max(1, reducedCount * outPerGroup)), pool: pool) { r in
            for g in r {
                let base = offset(of: g, in: ko)
                let out = y + g * outPerGroup
                if trailingKept {
                    reduceRows(op, x + base, ro, inner: inner, count: reducedCount, out)
                } else {
                    out.pointee = reduceSegments(op, x + base, ro, segment: segment, count: reducedCount)
                }
            }
        }
    }

    static func identity(_ op: ReduceOp) -> Double {
        switch op {
        case .sum, .mean, .sumSquare, .l1, .l2: return 0
        case .prod: return 1
        case .max, .logSum, .logSumExp: return -.infinity
        case .min: return .infinity
        }
    }

    /// Offset of the i-th index of an odometer over (size, stride) dims, last fastest.
    @inline(__always) static func offset(of i: Int, in d: [(Int, Int)]) -> Int {
        var i = i, o = 0
        for (size, stride) in d.reversed() { o += (i % size) * stride; i /= size }
        return o
    }

    /// Visits the offset of every index of an odometer (row-major).
    @inline(__always) static func forEachOffset(_ d: [(Int, Int)], _ body: (Int) -> Void) {
        let n = d.reduce(1) { $0 * $1.0 }
        if d.count <= 1 { let s = d.first?.1 ?? 0; for i in 0..<n { body(i * s) }; return }
        for i in 0..<n { body(offset(of: i, in: d)) }
    }

    /// One output from contiguous segments at each reduced-odometer offset.
    static func reduceSegments(_ op: ReduceOp, _ x: UnsafePointer<Float>, _ ro: [(Int, Int)],
                               segment n: Int, count: Int) -> Float {
        let v = KernelTable.current.vector
        switch op {
        case .sum, .mean, .logSum:
            var s: Float = 0
            forEachOffset(ro) { s += v.sum(x + $0, n) }
            return op == .sum ? s : op == .mean ? s / Float(count) : logf(s)
        case .max:
            var m = -Float.infinity
            forEachOffset(ro) { o in for i in 0..<n { let t = x[o + i]; if t > m || t.isNaN { m = t } } }
            return m
        case .min:
            var m = Float.infinity
            forEachOffset(ro) { o in for i in 0..<n { let t = x[o + i]; if t < m || t.isNaN { m = t } } }
            return m
        case .prod:
            var p: Float = 1
            forEachOffset(ro) { o in for i in 0..<n { p *= x[o + i] } }
            return p
        case .sumSquare, .l2:
            var s: Float = 0
            forEachOffset(ro) { o in for i in 0..<n { s += x[o + i] * x[o + i] } }
            return op == .l2 ? s.squareRoot() : s
        case .l1:
            var s: Float = 0
            forEachOffset(ro) { o in for i in 0..<n { s += Swift.abs(x[o + i]) } }
            return s
        case .logSumExp:
            var m = -Float.infinity
            forEachOffset(ro) { o in let t = v.max(x + o, n); if t > m { m = t } }
            if !m.isFinite { m = 0 } // all -inf (→ -inf) or some +inf (→ +inf): no shift needed
            var s: Float = 0
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { t in
                forEachOffset(ro) { o in
                    var i = 0
                    while i < n { let k = Swift.min(256, n - i); s += v.expShiftSum(x + o + i, t.baseAddress!, k, m); i += k }
                }
            }
            return m + logf(s)
        }
    }

    /// One output row of `inner` from whole input rows at each reduced-odometer offset.
    static func reduceRows(_ op: ReduceOp, _ x: UnsafePointer<Float>, _ ro: [(Int, Int)],
                           inner n: Int, count: Int, _ y: UnsafeMutablePointer<Float>) {
        var first = true
        @inline(__always) func fold(_ f: (Float, Float) -> Float, _ pre: (Float) -> Float) {
            forEachOffset(ro) { o in
                let row = x + o
                if first { for j in 0..<n { y[j] = pre(row[j]) }; first = false }
                else { for j in 0..<n { y[j] = f(y[j], pre(row[j])) } }
            }
        }
        switch op {
        case .sum: fold(+) { $0 }
        case .mean:
            fold(+) { $0 }
            let r = 1 / Float(count); for j in 0..<n { y[j] *= r }
        case .logSum: fold(+) { $0 }; for j in 0..<n { y[j] = logf(y[j]) }
        case .max: fold({ $1 > $0 || $1.isNaN ? $1 : $0 }) { $0 }
        case .min: fold({ $1 < $0 || $1.isNaN ? $1 : $0 }) { $0 }
        case .prod: fold(*) { $0 }
        case .sumSquare: fold(+) { $0 * $0 }
        case .l2: fold(+) { $0 * $0 }; for j in 0..<n { y[j] = y[j].squareRoot() }
        case .l1: fold(+) { Swift.abs($0) }
        case .logSumExp:
            fold({ $1 > $0 ? $1 : $0 }) { $0 }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { t in
                let s = t.baseAddress!
                var c = 0
                while c < n {
                    let k = Swift.min(256, n - c)
                    for j in 0..<k { s[j] = 0; if !y[c + j].isFinite { y[c + j] = 0 } }
                    forEachOffset(ro) { o in let row = x + o + c; for j in 0..<k { s[j] += expf(row[j] - y[c + j]) } }
                    for j in 0..<k { y[c + j] += logf(s[j]) }
                    c += k
                }
            }
        }
    }
}
