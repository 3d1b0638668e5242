import PetrelKernels
#if canImport(Glibc)
import Glibc
#endif

// Shape and data-movement ops. Most read shape-like operands (Reshape's shape, Slice's starts) whose
// values are known when planning, so in a transformer the whole shape subgraph runs once per input
// shape, not once per request.

func copyStep(_ x: Tensor, _ y: Tensor) -> Step {
    let src = x.raw, dst = y.raw, n = y.byteCount
    return { if src != dst { dst.copyMemory(from: src, byteCount: n) } }
}

/// Reads axes from the attribute (older opsets) or the input (newer ones).
private func axesOperand(_ ctx: NodeContext, inputFrom version: Int, input: Int = 1) throws -> [Int]? {
    if ctx.version >= version { return try ctx.optionalValue(input, "axes")?.ints() }
    return ctx.attrs.ints("axes")
}

extension OpImpl {
    static let reshape = OpImpl(
        infer: { ctx in
            let shape = try ctx.shape(0)
            let want: [Int] = ctx.version >= 5 ? try ctx.value(1, "shape").ints() : (ctx.attrs.ints("shape") ?? [])
            let allowZero = (ctx.attrs.int("allowzero") ?? 0) != 0
            var out = want
            var inferAt: Int?
            for (i, d) in want.enumerated() {
                if d == 0 && !allowZero {
                    guard i < shape.count else { throw ctx.fail("shape \(want): 0 at axis \(i) copies a dim the input \(shape) lacks") }
                    out[i] = shape[i]
                } else if d == -1 {
                    if inferAt != nil { throw ctx.fail("shape \(want) has more than one -1") }
                    inferAt = i
                } else if d < 0 { throw ctx.fail("shape \(want) has invalid dim \(d)") }
            }
            let total = shape.product
            if let k = inferAt {
                let rest = out.enumerated().filter { $0.offset != k }.map(\.element).product
                guard rest > 0, total % rest == 0 else { throw ctx.fail("cannot reshape \(shape) to \(want)") }
                out[k] = total / rest
            }
            guard out.product == total else { throw ctx.fail("cannot reshape \(shape) (\(total) elements) to \(want)") }
            return Inferred(try ctx.type(0), out)
        },
        prepare: { _, b in copyStep(b.input(0), b.outputs[0]) },
        aliasesInput: true)

    static let flatten = OpImpl(
        infer: { ctx in
            let s = try ctx.shape(0)
            // axis is in [-rank, rank]: rank itself flattens everything into the first dim.
            var axis = ctx.attrs.int("axis") ?? 1
            if axis < 0 { axis += s.count }
            guard axis >= 0, axis <= s.count else { throw ctx.fail("axis \(ctx.attrs.int("axis")!) is out of range for rank \(s.count)") }
            return Inferred(try ctx.type(0), [Array(s[..<axis]).product, Array(s[axis...]).product])
        },
        prepare: { _, b in copyStep(b.input(0), b.outputs[0]) },
        aliasesInput: true)

    static let squeeze = OpImpl(
        infer: { ctx in
            let s = try ctx.shape(0)
            let axes = try axesOperand(ctx, inputFrom: 13).map { try $0.map { try ctx.axis($0, rank: s.count) } }
            if let axes {
                for a in axes where s[a] != 1 { throw ctx.fail("cannot squeeze axis \(a) of shape \(s): it is not 1") }
                return Inferred(try ctx.type(0), s.enumerated().filter { !axes.contains($0.offset) }.map(\.element))
            }
            return Inferred(try ctx.type(0), s.filter { $0 != 1 })
        },
        prepare: { _, b in copyStep(b.input(0), b.outputs[0]) },
        aliasesInput: true)

    static let unsqueeze = OpImpl(
        infer: { ctx in
            let s = try ctx.shape(0)
            guard let raw = try axesOperand(ctx, inputFrom: 13) else { throw ctx.fail("axes are required") }
            let rank = s.count + raw.count
            let axes = try raw.map { try ctx.axis($0, rank: rank) }
            guard Set(axes).count == axes.count else { throw ctx.fail("axes \(raw) repeat an axis") }
            var out: [Int] = []
            var it = s.makeIterator()
            for i in 0..<rank { out.append(axes.contains(i) ? 1 : it.next()!) }
            return Inferred(try ctx.type(0), out)
        },
        prepare: { _, b in copyStep(b.input(0), b.outputs[0]) },
        aliasesInput: true)

    static let identity = OpImpl(
        infer: { ctx in Inferred(try ctx.type(0), try ctx.shape(0)) },
        prepare: { _, b in copyStep(b.input(0), b.outputs[0]) },
        aliasesInput: true)

    /// Inference-mode Dropout: the identity, plus an all-true mask when asked for.
    static let dropout = OpImpl(
        infer: { ctx in
            if ctx.version >= 12, let training = try ctx.optionalValue(2, "training_mode"), training.element(at: 0) != 0 {
                throw ctx.unsupported("training_mode = true is not supported (Petrel runs inference only)")
            }
            let s = try ctx.shape(0)
            return Inferred([(try ctx.type(0), s), (.bool, s)])
        },
        prepare: { _, b in
            let copy = copyStep(b.input(0), b.outputs[0])
            let mask = b.outputs[1].pointer(Bool.self), n = b.outputs[1].count
            return { try copy(); for i in 0..<n { mask[i] = true } }
        })

    static let shape = OpImpl(
        infer: { ctx in
            let rank = try ctx.shape(0).count
            var start = ctx.attrs.int("start") ?? 0, end = ctx.attrs.int("end") ?? rank
            if start < 0 { start += rank }; if end < 0 { end += rank }
            start = Swift.min(Swift.max(start, 0), rank); end = Swift.min(Swift.max(end, 0), rank)
            return Inferred(.int64, [Swift.max(end - start, 0)])
        },
        prepare: { ctx, b in
            let s = try ctx.shape(0), y = b.outputs[0].pointer(Int64.self), n = b.outputs[0].count
            var start = ctx.attrs.int("start") ?? 0
            if start < 0 { start += s.count }
            start = Swift.min(Swift.max(start, 0), s.count)
            return { for i in 0..<n { y[i] = Int64(s[start + i]) } }
        },
        readsShapesOnly: true)

    static let size = OpImpl(
        infer: { _ in Inferred(.int64, []) },
        prepare: { ctx, b in
            let n = Int64(try ctx.shape(0).product), y = b.outputs[0].pointer(Int64.self)
            return { y[0] = n }
        },
        readsShapesOnly: true)

    static let constant = OpImpl(
        validate: { node in
            let keys = Set(node.attributes.keys)
            if keys.contains("sparse_value") || keys.contains("value_string") || keys.contains("value_strings") {
                throw ModelError(.unsupported, "node '\(node.name)' (Constant): sparse and string constants are not supported")
            }
            guard keys.count == 1 else { throw ModelError(.invalidGraph, "node '\(node.name)' (Constant): exactly one value attribute is required") }
        },
        infer: { ctx in
            let t = constantValue(ctx.attrs)!
            return Inferred(t.dtype, t.shape)
        },
        prepare: { ctx, b in
            copyStep(b.keep.tensor(constantValue(ctx.attrs)!), b.outputs[0])
        })

    private static func constantValue(_ a: [String: Attribute]) -> Tensor? {
        if let t = a.tensor("value") { return t }
        if let f = a.float("value_float") { return Tensor(shape: [], [f]) }
        if let f = a.floats("value_floats") { return Tensor(shape: [f.count], f) }
        if let i = a.int("value_int") { return Tensor(shape: [], [Int64(i)]) }
        if let i = a.ints("value_ints") { return Tensor(shape: [i.count], i.map { Int64($0) }) }
        return nil
    }

    static let constantOfShape = OpImpl(
        infer: { ctx in
            let shape = try ctx.value(0, "shape").ints()
            if shape.contains(where: { $0 < 0 }) { throw ctx.fail("negative dim in shape \(shape)") }
            let dtype = ctx.attrs.tensor("value")?.dtype ?? .float32
            _ = try checkedElementCount(shape, dtype: dtype, what: "node '\(ctx.node.name)' (ConstantOfShape)")
            return Inferred(dtype, shape)
        },
        prepare: { ctx, b in
            let y = b.outputs[0], n = y.count, size = y.dtype.size
            let fill = b.keep.tensor(ctx.attrs.tensor("value") ?? Tensor(shape: [1], [Float(0)]))
            let src = fill.raw, dst = y.raw
            return { for i in 0..<n { (dst + i * size).copyMemory(from: src, byteCount: size) } }
        })

    static let range = OpImpl(
        infer: { ctx in
            let t = try ctx.type(0)
            let start = try ctx.value(0, "start").element(at: 0), limit = try ctx.value(1, "limit").element(at: 0)
            let delta = try ctx.value(2, "delta").element(at: 0)
            guard delta != 0 else { throw ctx.fail("delta is 0") }
            let n = Swift.max(Int(((limit - start) / delta).rounded(.up)), 0)
            _ = try checkedElementCount([n], dtype: t, what: "node '\(ctx.node.name)' (Range)")
            return Inferred(t, [n])
        },
        prepare: { ctx, b in
            struct Fill: NumericVisitor {
                let start: Tensor, delta: Tensor, y: Tensor
                func visit<T: NumericElement>(_: T.Type) throws -> Step {
                    let s = start.pointer(T.self)[0], d = delta.pointer(T.self)[0], py = y.pointer(T.self), n = y.count
                    return { var v = s; for i in 0..<n { py[i] = v; v = T.add(v, d) } }
                }
            }
            return try b.outputs[0].dtype.visit(Fill(start: b.input(0), delta: b.input(2), y: b.outputs[0]))
        })

    static let expand = OpImpl(
        infer: { ctx in
            let shape = try ctx.value(1, "shape").ints()
            return Inferred(try ctx.type(0), try broadcastShape(ctx, [try ctx.shape(0), shape]))
        },
        prepare: { _, b in
            let x = b.input(0), y = b.outputs[0]
            return broadcastCopy(x, y, pool: b.pool)
        })

    static let cast = OpImpl(
        validate: { node in
            guard let to = node.attributes.int("to") else { throw ModelError(.invalidGraph, "node '\(node.name)' (Cast): attribute 'to' is required") }
            guard DType(rawValue: to) != nil else {
                throw ModelError(.unsupported, "node '\(node.name)' (Cast): casting to \(DType.onnxName(to)) is not supported")
            }
        },
        infer: { ctx in Inferred(DType(rawValue: ctx.attrs.int("to")!)!, try ctx.shape(0)) },
        prepare: { _, b in castStep(b.input(0), b.outputs[0]) })
}

/// Copies x into y, broadcasting x's shape to y's (Expand).
func broadcastCopy(_ x: Tensor, _ y: Tensor, pool: ThreadPool) -> Step {
    struct Copy: BitsVisitor {
        let x: Tensor, y: Tensor, pool: ThreadPool
        func visit<T: FixedWidthInteger>(_: T.Type) -> Step {
            let px = x.raw.assumingMemoryBound(to: T.self), py = y.raw.assumingMemoryBound(to: T.self)
            let sx = x.shape, sy = y.shape, pool = pool
            // The second operand only supplies the output shape; its values are ignored.
            return { Elementwise.binary(a: px, aShape: sx, b: UnsafePointer(py), bShape: sy, out: py, outShape: sy, pool: pool) { a, _ in a } }
        }
    }
    return x.dtype.visitBits(Copy(x: x, y: y, pool: pool))
}

/// Cast between any two supported dtypes with ONNX's rules: float → int truncates toward zero
/// (saturating instead of trapping), → bool is "non-zero", bool → number is 0/1.
func castStep(_ x: Tensor, _ y: Tensor) -> Step {
    if x.dtype == y.dtype { return copyStep(x, y) }
    struct From: NumericVisitor {
        let x: Tensor, y: Tensor
        func visit<S: NumericElement>(_: S.Type) throws -> Step {
            if y.dtype == .bool {
                let px = x.pointer(S.self), py = y.pointer(Bool.self), n = x.count
                return { for i in 0..<n { py[i] = px[i].double != 0 } }
            }
            return try y.dtype.visit(CastTo<S>(x: x, y: y))
        }
    }
    if x.dtype == .bool {
        struct FromBool: NumericVisitor {
            let x: Tensor, y: Tensor
            func visit<D: NumericElement>(_: D.Type) throws -> Step {
                let px = x.pointer(Bool.self), py = y.pointer(D.self), n = x.count
                return { for i in 0..<n { py[i] = D(double: px[i] ? 1 : 0) } }
            }
        }
        return try! y.dtype.visit(FromBool(x: x, y: y))
    }
    return try! x.dtype.visit(From(x: x, y: y))
}

private struct CastTo<S: NumericElement>: NumericVisitor {
    let x: Tensor, y: Tensor
    func visit<D: NumericElement>(_: D.Type) throws -> Step {
        let px = x.pointer(S.self), py = y.pointer(D.self), n = x.count
        if S.isInteger && D.isInteger {
            // Integer → integer keeps the low bits (C semantics): int64 beyond 2^53 survives.
            return { for i in 0..<n { py[i] = D(bits64: px[i].bits64) } }
        }
        return { for i in 0..<n { py[i] = D(double: px[i].double) } }
    }
}
