import PetrelKernels
#if canImport(Glibc)
import Glibc
#endif

// Elementwise ONNX ops: unary math, binary arithmetic with broadcasting, comparisons, logic, Where,
// Clip, variadic Sum/Max/Min. fp32 goes through PetrelKernels' vector kernels; other dtypes through
// generic loops specialised per element type.

func broadcastShape(_ ctx: NodeContext, _ shapes: [[Int]]) throws -> [Int] {
    do { return try Broadcast.shape(of: shapes) } catch {
        throw ctx.fail("input shapes \(shapes.map { "\($0)" }.joined(separator: " and ")) do not broadcast")
    }
}

// MARK: unary

extension OpImpl {
    /// A unary float op; `op` picks the kernel from the node (attributes may parameterise it).
    static func unaryFloat(_ op: @escaping (Node) -> UnaryOp, alsoIntegers: ((Double) -> Double)? = nil) -> OpImpl {
        OpImpl(
            infer: { ctx in
                let t = try ctx.type(0)
                guard t.isFloat || (alsoIntegers != nil && t.isNumeric) else {
                    throw ctx.unsupported("input type \(t) is not supported")
                }
                return Inferred(t, try ctx.shape(0))
            },
            prepare: { ctx, b in
                let x = b.input(0), y = b.outputs[0], n = x.count, pool = b.pool
                let u = op(ctx.node)
                switch x.dtype {
                case .float32:
                    let px = x.pointer(Float.self), py = y.pointer(Float.self)
                    return { Elementwise.unary(u, x: px, y: py, count: n, pool: pool) }
                default:
                    struct Generic: NumericVisitor {
                        let x: Tensor, y: Tensor, n: Int, u: UnaryOp, integer: ((Double) -> Double)?
                        func visit<T: NumericElement>(_: T.Type) throws -> Step {
                            let px = x.pointer(T.self), py = y.pointer(T.self), n = n, u = u
                            if T.isInteger, let f = integer {
                                return { for i in 0..<n { py[i] = T(double: f(px[i].double)) } }
                            }
                            return { for i in 0..<n { py[i] = T(double: Double(u.apply(Float(px[i].double)))) } }
                        }
                    }
                    if x.dtype == .float64 { return try float64Unary(u, x, y) }
                    return try x.dtype.visit(Generic(x: x, y: y, n: n, u: u, integer: alsoIntegers))
                }
            })
    }
}

/// Doubles keep their precision: libm in double for the transcendental ones.
private func float64Unary(_ u: UnaryOp, _ x: Tensor, _ y: Tensor) throws -> Step {
    let px = x.pointer(Double.self), py = y.pointer(Double.self), n = x.count
    let f: (Double) -> Double
    switch u {
    case .exp: f = { Glibc.exp($0) }
    case .log: f = { Glibc.log($0) }
    case .sqrt: f = { $0.squareRoot() }
    case .tanh: f = { Glibc.tanh($0) }
    case .erf: f = { Glibc.erf($0) }
    case .sigmoid: f = { 1 / (1 + Glibc.exp(-$0)) }
    case .gelu: f = { 0.5 * $0 * (1 + Glibc.erf($0 / 2.0.squareRoot())) }
    case .reciprocal: f = { 1 / $0 }
    case .neg: f = { -$0 }
    case .abs: f = { Swift.abs($0) }
    case .floor: f = { $0.rounded(.down) }
    case .ceil: f = { $0.rounded(.up) }
    case .relu: f = { $0 > 0 ? $0 : 0 }
    case .leakyRelu(let a): f = { $0 >= 0 ? $0 : Double(a) * $0 }
    default: f = { Double(u.apply(Float($0))) }
    }
    return { for i in 0..<n { py[i] = f(px[i]) } }
}

extension OpImpl {
    static let relu = unaryFloat({ _ in .relu }, alsoIntegers: { $0 > 0 ? $0 : 0 })
    static let leakyRelu = unaryFloat { .leakyRelu(alpha: $0.attributes.float("alpha") ?? 0.01) }
    static let sigmoid = unaryFloat { _ in .sigmoid }
    static let tanh = unaryFloat { _ in .tanh }
    static let erf = unaryFloat { _ in .erf }
    static let sqrt = unaryFloat { _ in .sqrt }
    static let exp = unaryFloat { _ in .exp }
    static let log = unaryFloat { _ in .log }
    static let reciprocal = unaryFloat { _ in .reciprocal }
    static let floor = unaryFloat { _ in .floor }
    static let ceil = unaryFloat { _ in .ceil }
    static let neg = unaryFloat({ _ in .neg }, alsoIntegers: { -$0 })
    static let abs = unaryFloat({ _ in .abs }, alsoIntegers: { Swift.abs($0) })
    static let gelu: OpImpl = {
        var g = unaryFloat { n in n.attributes.string("approximate") == "tanh" ? .geluTanh : .gelu }
        g.validate = { n in
            let a = n.attributes.string("approximate") ?? "none"
            guard a == "none" || a == "tanh" else {
                throw ModelError(.unsupported, "node '\(n.name)' (Gelu): approximate='\(a)' is not supported (none or tanh)")
            }
        }
        return g
    }()

    static let not = OpImpl(
        infer: { ctx in
            guard try ctx.type(0) == .bool else { throw ctx.unsupported("Not takes bool") }
            return Inferred(.bool, try ctx.shape(0))
        },
        prepare: { _, b in
            let x = b.input(0).pointer(Bool.self), y = b.outputs[0].pointer(Bool.self), n = b.outputs[0].count
            return { for i in 0..<n { y[i] = !x[i] } }
        })
}

// MARK: binary arithmetic

private struct BinaryArith: NumericVisitor {
    let op: Op, a: Tensor, b: Tensor, y: Tensor, pool: ThreadPool
    func visit<T: NumericElement>(_: T.Type) throws -> Step {
        let pa = a.pointer(T.self), pb = b.pointer(T.self), py = y.pointer(T.self)
        let sa = a.shape, sb = b.shape, sy = y.shape, pool = pool
        let f: (T, T) -> T
        switch op {
        case .add, .sum: f = T.add
        case .sub: f = T.sub
        case .mul: f = T.mul
        case .div: f = T.div
        case .max: f = { Swift.max($0, $1) }
        case .min: f = { Swift.min($0, $1) }
        default: throw ModelError(.unsupported, "\(op.rawValue) is not arithmetic")
        }
        return { Elementwise.binary(a: pa, aShape: sa, b: pb, bShape: sb, out: py, outShape: sy, pool: pool, f) }
    }
}

/// Pow: base and exponent may have different types (opset 12+); the result has the base's type.
private struct PowVisitor: NumericVisitor {
    let a: Tensor, b: Tensor, y: Tensor, pool: ThreadPool
    func visit<T: NumericElement>(_: T.Type) throws -> Step {
        try b.dtype.visit(PowExponent<T>(a: a, b: b, y: y, pool: pool))
    }
}

private struct PowExponent<T: NumericElement>: NumericVisitor {
    let a: Tensor, b: Tensor, y: Tensor, pool: ThreadPool
    func visit<E: NumericElement>(_: E.Type) throws -> Step {
        let pa = a.pointer(T.self), pb = b.pointer(E.self), py = y.pointer(T.self)
        let sa = a.shape, sb = b.shape, sy = y.shape, pool = pool
        return { Elementwise.binary(a: pa, aShape: sa, b: pb, bShape: sb, out: py, outShape: sy, pool: pool) {
            T(double: Glibc.pow($0.double, $1.double)) } }
    }
}

extension OpImpl {
    static func binaryArithmetic(_ op: Op) -> OpImpl {
        OpImpl(
            infer: { ctx in
                let t = try ctx.type(0)
                guard t.isNumeric else { throw ctx.unsupported("input type \(t) is not supported") }
                if op != .pow, try ctx.type(1) != t { throw ctx.fail("inputs have different types \(t) and \(try ctx.type(1))") }
                return Inferred(t, try broadcastShape(ctx, [try ctx.shape(0), try ctx.shape(1)]))
            },
            prepare: { ctx, b in
                let a = b.input(0), c = b.input(1), y = b.outputs[0], pool = b.pool
                if op == .pow && c.dtype != a.dtype { return try a.dtype.visit(PowVisitor(a: a, b: c, y: y, pool: pool)) }
                if a.dtype == .float32 {
                    let k: BinaryOp
                    switch op {
                    case .add: k = .add; case .sub: k = .sub; case .mul: k = .mul; case .div: k = .div
                    case .pow: k = .pow; case .max: k = .max; default: k = .min
                    }
                    let pa = a.pointer(Float.self), pb = c.pointer(Float.self), py = y.pointer(Float.self)
                    let sa = a.shape, sb = c.shape, sy = y.shape
                    return { Elementwise.binary(k, a: pa, aShape: sa, b: pb, bShape: sb, out: py, outShape: sy, pool: pool) }
                }
                if op == .pow { return try a.dtype.visit(PowVisitor(a: a, b: c, y: y, pool: pool)) }
                return try a.dtype.visit(BinaryArith(op: op, a: a, b: c, y: y, pool: pool))
            })
    }

    /// Sum, Max, Min over any number of inputs, broadcasting all of them: folded pairwise into the output.
    static func variadic(_ op: Op) -> OpImpl {
        OpImpl(
            infer: { ctx in
                let t = try ctx.type(0)
                guard t.isNumeric else { throw ctx.unsupported("input type \(t) is not supported") }
                let shapes = try (0..<ctx.inputCount).map { try ctx.shape($0) }
                return Inferred(t, try broadcastShape(ctx, shapes))
            },
            prepare: { ctx, b in
                let y = b.outputs[0], ins = b.inputs.compactMap { $0 }
                if ins.count == 1 {
                    let src = ins[0]
                    return { y.raw.copyMemory(from: src.raw, byteCount: y.byteCount) }
                }
                let binary = binaryArithmetic(op == .sum ? .add : op)
                // First pair into y, then y ∘ next into y (in place is safe: same index read then written).
                var steps: [Step] = []
                var acc = ins[0]
                for (k, t) in ins.dropFirst().enumerated() {
                    let partial = try Broadcast.shape(of: [acc.shape, t.shape])
                    let out = k == ins.count - 2 ? y : y.reshaped(partial)
                    if k < ins.count - 2 && partial != y.shape {
                        throw ctx.unsupported("partial broadcasts of more than two inputs")
                    }
                    let sub = NodeContext(node: ctx.node, types: [acc.dtype, t.dtype], shapes: [acc.shape, t.shape], values: [nil, nil])
                    steps.append(try binary.prepare(sub, Bound(inputs: [acc, t], outputs: [out], workspace: nil, pool: b.pool, keep: b.keep)))
                    acc = out
                }
                return { for s in steps { try s() } }
            })
    }
}

// MARK: comparisons and logic

private struct Compare: NumericVisitor {
    let op: Op, a: Tensor, b: Tensor, y: Tensor, pool: ThreadPool
    func visit<T: NumericElement>(_: T.Type) throws -> Step {
        let pa = a.pointer(T.self), pb = b.pointer(T.self), py = y.pointer(Bool.self)
        let sa = a.shape, sb = b.shape, sy = y.shape, pool = pool
        // A literal closure per case, so each loop is specialised with its comparison inlined: a
        // closure chosen at run time was called per element (~4 ns each, an attention mask of
        // 131 K elements took 0.6 ms).
        switch op {
        case .equal: return { Elementwise.binary(a: pa, aShape: sa, b: pb, bShape: sb, out: py, outShape: sy, pool: pool) { $0 == $1 } }
        case .greater: return { Elementwise.binary(a: pa, aShape: sa, b: pb, bShape: sb, out: py, outShape: sy, pool: pool) { $0 > $1 } }
        case .less: return { Elementwise.binary(a: pa, aShape: sa, b: pb, bShape: sb, out: py, outShape: sy, pool: pool) { $0 < $1 } }
        case .greaterOrEqual: return { Elementwise.binary(a: pa, aShape: sa, b: pb, bShape: sb, out: py, outShape: sy, pool: pool) { $0 >= $1 } }
        default: return { Elementwise.binary(a: pa, aShape: sa, b: pb, bShape: sb, out: py, outShape: sy, pool: pool) { $0 <= $1 } }
        }
    }
}

extension OpImpl {
    static func comparison(_ op: Op) -> OpImpl {
        OpImpl(
            infer: { ctx in
                let t = try ctx.type(0)
                if try ctx.type(1) != t { throw ctx.fail("inputs have different types \(t) and \(try ctx.type(1))") }
                if t == .bool && op != .equal { throw ctx.unsupported("bool inputs are not supported") }
                return Inferred(.bool, try broadcastShape(ctx, [try ctx.shape(0), try ctx.shape(1)]))
            },
            prepare: { _, b in
                let a = b.input(0), c = b.input(1), y = b.outputs[0]
                if a.dtype == .bool {
                    let pa = a.pointer(Bool.self), pc = c.pointer(Bool.self), py = y.pointer(Bool.self)
                    let sa = a.shape, sc = c.shape, sy = y.shape, pool = b.pool
                    return { Elementwise.binary(a: pa, aShape: sa, b: pc, bShape: sc, out: py, outShape: sy, pool: pool) { $0 == $1 } }
                }
                return try a.dtype.visit(Compare(op: op, a: a, b: c, y: y, pool: b.pool))
            })
    }

    /// And, Or, Xor on bool tensors (a literal closure per op, as in `Compare`).
    static func logical(_ op: Op) -> OpImpl {
        OpImpl(
            infer: { ctx in
                guard try ctx.type(0) == .bool, try ctx.type(1) == .bool else { throw ctx.unsupported("logical ops take bool inputs") }
                return Inferred(.bool, try broadcastShape(ctx, [try ctx.shape(0), try ctx.shape(1)]))
            },
            prepare: { _, b in
                let a = b.input(0), c = b.input(1), y = b.outputs[0]
                let pa = a.pointer(Bool.self), pc = c.pointer(Bool.self), py = y.pointer(Bool.self)
                let sa = a.shape, sc = c.shape, sy = y.shape, pool = b.pool
                switch op {
                case .and: return { Elementwise.binary(a: pa, aShape: sa, b: pc, bShape: sc, out: py, outShape: sy, pool: pool) { $0 && $1 } }
                case .or: return { Elementwise.binary(a: pa, aShape: sa, b: pc, bShape: sc, out: py, outShape: sy, pool: pool) { $0 || $1 } }
                default: return { Elementwise.binary(a: pa, aShape: sa, b: pc, bShape: sc, out: py, outShape: sy, pool: pool) { $0 != $1 } }
                }
            })
    }

    static let `where` = OpImpl(
        infer: { ctx in
            guard try ctx.type(0) == .bool else { throw ctx.fail("condition must be bool, got \(try ctx.type(0))") }
            let t = try ctx.type(1)
            if try ctx.type(2) != t { throw ctx.fail("X and Y have different types \(t) and \(try ctx.type(2))") }
            return Inferred(t, try broadcastShape(ctx, [try ctx.shape(0), try ctx.shape(1), try ctx.shape(2)]))
        },
        prepare: { _, b in
            struct Select: BitsVisitor {
                let c: Tensor, x: Tensor, z: Tensor, y: Tensor, pool: ThreadPool
                func visit<T: FixedWidthInteger>(_: T.Type) -> Step {
                    let pc = c.pointer(Bool.self), sc = c.shape, sx = x.shape, sz = z.shape, sy = y.shape, pool = pool
                    let px = x.raw.assumingMemoryBound(to: T.self), pz = z.raw.assumingMemoryBound(to: T.self)
                    let py = y.raw.assumingMemoryBound(to: T.self)
                    return { Elementwise.select(condition: pc, conditionShape: sc, x: px, xShape: sx, y: pz, yShape: sz, out: py, outShape: sy, pool: pool) }
                }
            }
            return b.outputs[0].dtype.visitBits(Select(c: b.input(0), x: b.input(1), z: b.input(2), y: b.outputs[0], pool: b.pool))
        })
}

// MARK: Clip

private struct ClipVisitor: NumericVisitor {
    let x: Tensor, y: Tensor, lo: Tensor?, hi: Tensor?
    func visit<T: NumericElement>(_: T.Type) throws -> Step {
        let px = x.pointer(T.self), py = y.pointer(T.self), n = x.count
        let pl = lo?.pointer(T.self), ph = hi?.pointer(T.self)
        return {
            let l = pl?[0], h = ph?[0]
            for i in 0..<n {
                var v = px[i]
                if let l, v < l { v = l }
                if let h, v > h { v = h }
                py[i] = v
            }
        }
    }
}

extension OpImpl {
    /// Clip: bounds are attributes before opset 11, optional scalar inputs from 11.
    static let clip = OpImpl(
        infer: { ctx in
            let t = try ctx.type(0)
            guard t.isNumeric else { throw ctx.unsupported("input type \(t) is not supported") }
            return Inferred(t, try ctx.shape(0))
        },
        prepare: { ctx, b in
            let x = b.input(0), y = b.outputs[0]
            var lo: Tensor?, hi: Tensor?
            if ctx.version < 11 {
                let attrs = ctx.attrs
                lo = b.keep.tensor(Tensor(shape: [], [attrs.float("min") ?? -Float.greatestFiniteMagnitude]))
                hi = b.keep.tensor(Tensor(shape: [], [attrs.float("max") ?? Float.greatestFiniteMagnitude]))
            } else {
                lo = b.inputs.count > 1 ? b.inputs[1] : nil
                hi = b.inputs.count > 2 ? b.inputs[2] : nil
                for bound in [lo, hi].compactMap({ $0 }) where bound.count != 1 {
                    throw ctx.fail("min and max must be scalars, got shape \(bound.shape)")
                }
            }
            if x.dtype == .float32 {
                // Bounds may be runtime inputs: read them when the step runs.
                let pl = lo?.pointer(Float.self), ph = hi?.pointer(Float.self)
                let px = x.pointer(Float.self), py = y.pointer(Float.self), n = x.count, pool = b.pool
                return {
                    let l = pl?[0] ?? -.infinity, h = ph?[0] ?? .infinity
                    Elementwise.unary(.clip(min: l, max: h), x: px, y: py, count: n, pool: pool)
                }
            }
            return try x.dtype.visit(ClipVisitor(x: x, y: y, lo: lo, hi: hi))
        })
}
