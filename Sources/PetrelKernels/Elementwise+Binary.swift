#if canImport(Glibc)
import Glibc
#endif

/// Binary fp32 ops with numpy broadcasting (ONNX Add, Sub, Mul, Div, Pow, Max, Min).
public enum BinaryOp: Equatable, Sendable {
    case add, sub, mul, div, pow, max, min

    /// Scalar reference semantics.
    @inline(__always) public func apply(_ a: Float, _ b: Float) -> Float {
        switch self {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        case .pow: return powf(a, b)
        case .max: return a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
        case .min: return a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
        }
    }
}

extension Elementwise {
    /// out = a op b, broadcasting aShape and bShape to outShape (which must be their broadcast shape).
    /// Same shapes, a scalar operand and a trailing "row" (bias add) all become contiguous runs with
    /// operand strides 0 or 1, which the per-op loops below handle without index arithmetic.
    public static func binary(_ op: BinaryOp, a: UnsafePointer<Float>, aShape: [Int],
                              b: UnsafePointer<Float>, bShape: [Int],
                              out: UnsafeMutablePointer<Float>, outShape: [Int], pool: ThreadPool? = nil) {
        precondition((try? Broadcast.shape(aShape, bShape)) == outShape,
                     "binary \(op): output shape \(outShape) is not the broadcast of \(aShape) and \(bShape)")
        let plan = BroadcastPlan(outShape: outShape, inputShapes: [aShape, bShape])
        let sa = plan.innerStride(0), sb = plan.innerStride(1)
        plan.forEachSpan(pool: pool, runGrain: binaryRunGrain) { o, oa, ob, _, n in
            binaryRun(op, a + oa, sa, b + ob, sb, out + o, n)
        }
    }

    /// Elements per share of a single-run float binary op (`BroadcastPlan.forEachSpan`). A region costs ~1–3 µs with the pool's
    /// worker spinning on its own core, but this VM often runs both threads on one vCPU, where a
    /// share waits for the other thread's time slice: a residual Add of 49 K floats (MiniLM batch
    /// 1) did not gain from splitting, one of 393 K (batch 8) did (2.6–3.1 → 1.9–2.3 ms a run).
    static let binaryRunGrain = 1 << 16
    /// The same for the generic (comparison, logic, select) loops, ~0.6 ns an element: an
    /// attention mask of 131 K bools ran 3–4× slower split over two threads than inline.
    @usableFromInline static let genericRunGrain = 1 << 17

    static func binaryRun(_ op: BinaryOp, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                          _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch op {
        case .add: run(a, sa, b, sb, y, n) { $0 + $1 }
        case .sub: run(a, sa, b, sb, y, n) { $0 - $1 }
        case .mul: run(a, sa, b, sb, y, n) { $0 * $1 }
        case .div:
            if sb == 0 && sa == 1 { let r = b[0]; run(a, sa, b, sb, y, n) { x, _ in x / r } } // keep exact division
            else { run(a, sa, b, sb, y, n) { $0 / $1 } }
        case .max: run(a, sa, b, sb, y, n) { BinaryOp.max.apply($0, $1) }
        case .min: run(a, sa, b, sb, y, n) { BinaryOp.min.apply($0, $1) }
        case .pow:
            // Pow by a constant 2 / 0.5 / 1 appears in decomposed norms (x², √x): exact shortcuts.
            if sb == 0 && b[0] == 2 { run(a, sa, b, sb, y, n) { x, _ in x * x } }
            else if sb == 0 && b[0] == 1 { run(a, sa, b, sb, y, n) { x, _ in x } }
            else { run(a, sa, b, sb, y, n) { powf($0, $1) } }
        }
    }

    /// One run with operand strides in {0, 1}: four straight loops so each vectorises.
    @inline(__always)
    static func run(_ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                    _ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Float, Float) -> Float) {
        switch (sa, sb) {
        case (1, 1): for i in 0..<n { y[i] = f(a[i], b[i]) }
        case (1, 0): let s = b[0]; for i in 0..<n { y[i] = f(a[i], s) }
        case (0, 1): let s = a[0]; for i in 0..<n { y[i] = f(s, b[i]) }
        default: let v = f(a[0], b[0]); for i in 0..<n { y[i] = v }
        }
    }

    /// out = f(a, b) with broadcasting, for any element types (int64 shape arithmetic, comparisons
    /// into Bool, ...). Inlinable so the closure is specialised into the caller's loop.
    @inlinable
    public static func binary<A, B, U>(a: UnsafePointer<A>, aShape: [Int], b: UnsafePointer<B>, bShape: [Int],
                                       out: UnsafeMutablePointer<U>, outShape: [Int], pool: ThreadPool? = nil,
                                       _ f: (A, B) -> U) {
        precondition((try? Broadcast.shape(aShape, bShape)) == outShape,
                     "binary: output shape \(outShape) is not the broadcast of \(aShape) and \(bShape)")
        let plan = BroadcastPlan(outShape: outShape, inputShapes: [aShape, bShape])
        let sa = plan.innerStride(0), sb = plan.innerStride(1)
        plan.forEachSpan(pool: pool, runGrain: genericRunGrain) { o, oa, ob, _, n in
            let y = out + o, pa = a + oa, pb = b + ob
            for i in 0..<n { y[i] = f(pa[i &* sa], pb[i &* sb]) }
        }
    }

    /// out = f(a, b, c) with three-way broadcasting.
    @inlinable
    public static func ternary<A, B, C, U>(a: UnsafePointer<A>, aShape: [Int], b: UnsafePointer<B>, bShape: [Int],
                                           c: UnsafePointer<C>, cShape: [Int],
                                           out: UnsafeMutablePointer<U>, outShape: [Int], pool: ThreadPool? = nil,
                                           _ f: (A, B, C) -> U) {
        precondition((try? Broadcast.shape(aShape, bShape, cShape)) == outShape,
                     "ternary: output shape \(outShape) is not the broadcast of \(aShape), \(bShape) and \(cShape)")
        let plan = BroadcastPlan(outShape: outShape, inputShapes: [aShape, bShape, cShape])
        let sa = plan.innerStride(0), sb = plan.innerStride(1), sc = plan.innerStride(2)
        plan.forEachSpan(pool: pool, runGrain: genericRunGrain) { o, oa, ob, oc, n in
            let y = out + o, pa = a + oa, pb = b + ob, pc = c + oc
            for i in 0..<n { y[i] = f(pa[i &* sa], pb[i &* sb], pc[i &* sc]) }
        }
    }

    /// ONNX Where: out = condition ? x : y, broadcasting all three.
    @inlinable
    public static func select<T>(condition: UnsafePointer<Bool>, conditionShape: [Int],
                                 x: UnsafePointer<T>, xShape: [Int], y: UnsafePointer<T>, yShape: [Int],
                                 out: UnsafeMutablePointer<T>, outShape: [Int], pool: ThreadPool? = nil) {
        ternary(a: condition, aShape: conditionShape, b: x, bShape: xShape, c: y, cShape: yShape,
                out: out, outShape: outShape, pool: pool) { $0 ? $1 : $2 }
    }
}
