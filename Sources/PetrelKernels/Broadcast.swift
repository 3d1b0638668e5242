/// Numpy (ONNX multidirectional) broadcasting: the one place that decides output shapes and walks
/// broadcast operands. Every broadcasting kernel (float binary ops, the generic binary/ternary
/// helpers, Where) iterates through `BroadcastPlan`, so their index logic cannot drift apart.
public enum Broadcast {
    /// Output shape of broadcasting `shapes` together (right-aligned; a dim of 1 stretches).
    public static func shape(_ shapes: [Int]...) throws -> [Int] { try shape(of: shapes) }

    public static func shape(of shapes: [[Int]]) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var out = [Int](repeating: 1, count: rank)
        for s in shapes {
            for (i, d) in s.enumerated() {
                let o = rank - s.count + i
                if out[o] == d || d == 1 { continue }
                if out[o] == 1 { out[o] = d; continue }
                throw BroadcastError(shapes: shapes, axis: o - rank)
            }
        }
        return out
    }

    /// Element strides of a contiguous tensor of `shape` viewed in `outShape` (right-aligned):
    /// 0 along broadcast dims and along the missing leading dims.
    public static func strides(of shape: [Int], in outShape: [Int]) -> [Int] {
        var s = [Int](repeating: 0, count: outShape.count)
        var step = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let o = outShape.count - shape.count + i
            s[o] = shape[i] == 1 ? 0 : step
            step *= shape[i]
        }
        return s
    }

    /// Row-major contiguous strides.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var step = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = step; step *= shape[i] }
        return s
    }
}

/// Shapes that do not broadcast; names every shape and the first axis (negative, from the right)
/// where they disagree.
public struct BroadcastError: Error, CustomStringConvertible, Equatable {
    public var shapes: [[Int]]
    public var axis: Int
    public var description: String {
        "shapes " + shapes.map { "\($0)" }.joined(separator: " and ") + " do not broadcast (axis \(axis))"
    }
}

/// How to walk up to three broadcast inputs against a contiguous output: dims of 1 dropped and
/// adjacent dims merged wherever every operand stays linear across them, so a bias add over
/// [N, S, C] + [C] becomes N·S runs of C contiguous elements and same-shape operands one run.
/// Runs: `runCount` innermost rows of `runLength` output elements; operand k advances by
/// `innerStride[k]` (0 or 1) along a run.
public struct BroadcastPlan {
    @usableFromInline var dims: [Int]
    @usableFromInline var strides: [[Int]]

    public init(outShape: [Int], inputShapes: [[Int]]) {
        let full = inputShapes.map { Broadcast.strides(of: $0, in: outShape) }
        var d: [Int] = []
        var s = [[Int]](repeating: [], count: inputShapes.count)
        for i in outShape.indices where outShape[i] != 1 {
            if !d.isEmpty, s.indices.allSatisfy({ s[$0].last! == full[$0][i] * outShape[i] }) {
                d[d.count - 1] *= outShape[i]
                for k in s.indices { s[k][s[k].count - 1] = full[k][i] }
            } else {
                d.append(outShape[i])
                for k in s.indices { s[k].append(full[k][i]) }
            }
        }
        if d.isEmpty { d = [1]; for k in s.indices { s[k] = [0] } }
        dims = d; strides = s
    }

    public var runLength: Int { dims[dims.count - 1] }
    public var runCount: Int { dims.dropLast().reduce(1, *) }
    public func innerStride(_ k: Int) -> Int { strides[k][dims.count - 1] }

    /// Calls body(run, inputOffsets) for runs in `range`; the output offset is run·runLength.
    @inlinable
    public func forEachRun(in range: Range<Int>, _ body: (Int, _ o0: Int, _ o1: Int, _ o2: Int) -> Void) {
        let outer = dims.count - 1
        if outer == 0 { if !range.isEmpty { body(0, 0, 0, 0) }; return }
        let n = strides.count
        var idx = [Int](repeating: 0, count: outer)
        var off = (0, 0, 0)
        var r = range.lowerBound
        for j in stride(from: outer - 1, through: 0, by: -1) {
            idx[j] = r % dims[j]; r /= dims[j]
            if n > 0 { off.0 += idx[j] * strides[0][j] }
            if n > 1 { off.1 += idx[j] * strides[1][j] }
            if n > 2 { off.2 += idx[j] * strides[2][j] }
        }
        for run in range {
            body(run, off.0, off.1, off.2)
            var j = outer - 1
            while j >= 0 {
                idx[j] += 1
                if n > 0 { off.0 += strides[0][j] }
                if n > 1 { off.1 += strides[1][j] }
                if n > 2 { off.2 += strides[2][j] }
                if idx[j] < dims[j] { break }
                if n > 0 { off.0 -= strides[0][j] * dims[j] }
                if n > 1 { off.1 -= strides[1][j] * dims[j] }
                if n > 2 { off.2 -= strides[2][j] * dims[j] }
                idx[j] = 0; j -= 1
            }
        }
    }

    /// The whole output as spans: body(outOffset, o0, o1, o2, count), each span inside one run
    /// (inner strides `innerStride(k)` apply). Runs are split over the pool whole when the output
    /// is large (from `grain` elements a share); operands that collapse into a single run (same
    /// shapes, a scalar) have that run cut into shares of `runGrain` elements instead, which a
    /// run-wise split could not share out (MiniLM's residual Adds stayed on one thread).
    @inlinable
    public func forEachSpan(pool: ThreadPool?, grain: Int = 1 << 15, runGrain: Int,
                            _ body: (_ out: Int, _ o0: Int, _ o1: Int, _ o2: Int, _ count: Int) -> Void) {
        let runs = runCount, len = runLength
        if runs == 1 {
            let s0 = strides.count > 0 ? innerStride(0) : 0, s1 = strides.count > 1 ? innerStride(1) : 0
            let s2 = strides.count > 2 ? innerStride(2) : 0
            parallelRanges(len, grain: runGrain, pool: pool) { r in
                let o = r.lowerBound
                body(o, o &* s0, o &* s1, o &* s2, r.count)
            }
            return
        }
        parallelRanges(runs, grain: Swift.max(1, grain / Swift.max(1, len)), pool: pool) { r in
            forEachRun(in: r) { run, o0, o1, o2 in body(run &* len, o0, o1, o2, len) }
        }
    }
}
