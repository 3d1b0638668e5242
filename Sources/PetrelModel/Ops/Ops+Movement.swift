import PetrelKernels

// Ops that move bytes without arithmetic, so they work on any dtype by element size:
// Concat, Split, Slice, Gather, Transpose.

/// Copies an N-d strided view of `src` (element strides may be negative) into contiguous `dst`.
func stridedCopy(src: UnsafeRawPointer, strides: [Int], shape: [Int], dst: UnsafeMutableRawPointer, elementSize size: Int) {
    let count = shape.product
    if count == 0 { return }
    let rank = shape.count
    if rank == 0 { dst.copyMemory(from: src, byteCount: size); return }
    let inner = shape[rank - 1], innerStride = strides[rank - 1] * size
    var index = [Int](repeating: 0, count: rank)
    var out = dst
    var offset = 0
    for _ in 0..<(count / inner) {
        var p = src + offset * size
        if innerStride == size { out.copyMemory(from: p, byteCount: inner * size); out += inner * size }
        else { for _ in 0..<inner { out.copyMemory(from: p, byteCount: size); out += size; p += innerStride } }
        var d = rank - 2
        while d >= 0 {
            index[d] += 1; offset += strides[d]
            if index[d] < shape[d] { break }
            offset -= strides[d] * shape[d]; index[d] = 0; d -= 1
        }
    }
}

extension OpImpl {
    static let concat = OpImpl(
        infer: { ctx in
            let present = (0..<ctx.inputCount).filter { ctx.has($0) }
            let first = try ctx.shape(present[0]), t = try ctx.type(present[0])
            guard let rawAxis = ctx.attrs.int("axis") else { throw ctx.fail("attribute 'axis' is required") }
            let axis = try ctx.axis(rawAxis, rank: first.count)
            var out = first
            out[axis] = 0
            for i in present {
                let s = try ctx.shape(i)
                guard try ctx.type(i) == t else { throw ctx.fail("input \(i) is \(try ctx.type(i)), input \(present[0]) is \(t)") }
                guard s.count == first.count, s.indices.allSatisfy({ $0 == axis || s[$0] == first[$0] }) else {
                    throw ctx.fail("input shapes \(first) and \(s) differ outside axis \(axis)")
                }
                out[axis] += s[axis]
            }
            return Inferred(t, out)
        },
        prepare: { ctx, b in
            let y = b.outputs[0]
            let axis = try ctx.axis(ctx.attrs.int("axis")!, rank: y.shape.count)
            let outer = Array(y.shape[..<axis]).product
            let size = y.dtype.size
            let parts = b.inputs.compactMap { $0 }.map { ($0.raw, Array($0.shape[axis...]).product * size) }
            let dst = y.raw
            return {
                var o = dst
                for r in 0..<outer {
                    for (src, bytes) in parts where bytes > 0 {
                        o.copyMemory(from: src + r * bytes, byteCount: bytes); o += bytes
                    }
                }
            }
        })

    static let split = OpImpl(
        validate: { node in
            if node.version >= 18, node.attributes.int("num_outputs") != nil, node.inputs.count > 1, node.inputs[1] != nil {
                throw ModelError(.invalidGraph, "node '\(node.name)' (Split): give either 'split' or 'num_outputs', not both")
            }
        },
        infer: { ctx in
            let s = try ctx.shape(0)
            let axis = try ctx.axis(ctx.attrs.int("axis") ?? 0, rank: s.count)
            let n = ctx.node.outputs.count
            var sizes: [Int]
            if ctx.version >= 13, ctx.has(1) { sizes = try ctx.value(1, "split").ints() }
            else if ctx.version < 13, let a = ctx.attrs.ints("split") { sizes = a }
            else if ctx.version >= 18, let k = ctx.attrs.int("num_outputs") {
                let chunk = (s[axis] + k - 1) / k
                sizes = (0..<k).map { Swift.max(0, Swift.min(chunk, s[axis] - $0 * chunk)) }
            } else {
                guard s[axis] % n == 0 else { throw ctx.fail("axis \(axis) of length \(s[axis]) does not split evenly into \(n) outputs") }
                sizes = Array(repeating: s[axis] / n, count: n)
            }
            guard sizes.count == n, sizes.reduce(0, +) == s[axis], sizes.allSatisfy({ $0 >= 0 }) else {
                throw ctx.fail("split sizes \(sizes) do not fit axis \(axis) of shape \(s) into \(n) outputs")
            }
            let t = try ctx.type(0)
            return Inferred(sizes.map { k in var o = s; o[axis] = k; return (t, o) })
        },
        prepare: { ctx, b in
            let x = b.input(0)
            let axis = try ctx.axis(ctx.attrs.int("axis") ?? 0, rank: x.shape.count)
            let outer = Array(x.shape[..<axis]).product, size = x.dtype.size
            let parts = b.outputs.map { ($0.raw, Array($0.shape[axis...]).product * size) }
            let src = x.raw
            return {
                var i = src
                for r in 0..<outer {
                    for (dst, bytes) in parts where bytes > 0 {
                        (dst + r * bytes).copyMemory(from: i, byteCount: bytes); i += bytes
                    }
                }
            }
        })

    static let slice = OpImpl(
        infer: { ctx in
            let (_, shape) = try sliceGeometry(ctx)
            return Inferred(try ctx.type(0), shape)
        },
        prepare: { ctx, b in
            let (start, shape) = try sliceGeometry(ctx)
            let x = b.input(0), y = b.outputs[0], size = x.dtype.size
            let (offset, strides) = start
            let src = x.raw + offset * size, dst = y.raw
            return { stridedCopy(src: src, strides: strides, shape: shape, dst: dst, elementSize: size) }
        })

    /// Slice's start offset (elements), per-dim strides into the input, and output shape.
    private static func sliceGeometry(_ ctx: NodeContext) throws -> ((Int, [Int]), [Int]) {
        let shape = try ctx.shape(0)
        let starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?
        if ctx.version >= 10 {
            starts = try ctx.value(1, "starts").ints(); ends = try ctx.value(2, "ends").ints()
            axes = try ctx.optionalValue(3, "axes")?.ints(); steps = try ctx.optionalValue(4, "steps")?.ints()
        } else {
            guard let s = ctx.attrs.ints("starts"), let e = ctx.attrs.ints("ends") else { throw ctx.fail("starts and ends are required") }
            starts = s; ends = e; axes = ctx.attrs.ints("axes"); steps = nil
        }
        let ax = try (axes ?? Array(0..<starts.count)).map { try ctx.axis($0, rank: shape.count) }
        guard ends.count == starts.count, ax.count == starts.count, (steps?.count ?? starts.count) == starts.count else {
            throw ctx.fail("starts, ends, axes and steps must have the same length")
        }
        guard Set(ax).count == ax.count else { throw ctx.fail("axes \(ax) repeat an axis") }
        var begin = [Int](repeating: 0, count: shape.count), step = [Int](repeating: 1, count: shape.count)
        var out = shape
        for (k, a) in ax.enumerated() {
            let dim = shape[a], st = steps?[k] ?? 1
            guard st != 0 else { throw ctx.fail("step is 0 for axis \(a)") }
            var s = starts[k], e = ends[k]
            if s < 0 { s = s &+ dim }; if e < 0 { e = e &+ dim }
            if st > 0 { s = Swift.min(Swift.max(s, 0), dim); e = Swift.min(Swift.max(e, 0), dim) }
            else { s = Swift.min(Swift.max(s, 0), dim - 1); e = Swift.min(Swift.max(e, -1), dim - 1) }
            let n = st > 0 ? (e - s + st - 1) / st : (s - e + (-st) - 1) / (-st)
            begin[a] = s; step[a] = st; out[a] = Swift.max(n, 0)
        }
        let base = Broadcast.contiguousStrides(shape)
        let offset = out.contains(0) ? 0 : zip(begin, base).map { $0 * $1 }.reduce(0, +)
        return ((offset, zip(base, step).map { $0 * $1 }), out)
    }

    static let gather = OpImpl(
        infer: { ctx in
            let data = try ctx.shape(0), idx = try ctx.shape(1)
            guard [.int64, .int32].contains(try ctx.type(1)) else { throw ctx.fail("indices must be int32 or int64") }
            let axis = try ctx.axis(ctx.attrs.int("axis") ?? 0, rank: data.count)
            return Inferred(try ctx.type(0), Array(data[..<axis]) + idx + Array(data[(axis + 1)...]))
        },
        prepare: { ctx, b in
            let x = b.input(0), ind = b.input(1), y = b.outputs[0]
            let axis = try ctx.axis(ctx.attrs.int("axis") ?? 0, rank: x.shape.count)
            let outer = Array(x.shape[..<axis]).product, dim = x.shape[axis]
            let chunk = Array(x.shape[(axis + 1)...]).product * x.dtype.size
            let n = ind.count, src = x.raw, dst = y.raw
            let wide = ind.dtype == .int64, pi = ind.raw
            let name = ctx.node.name
            return {
                var o = dst
                for r in 0..<outer {
                    let base = src + r * dim * chunk
                    for j in 0..<n {
                        var i = wide ? Int(pi.load(fromByteOffset: j * 8, as: Int64.self)) : Int(pi.load(fromByteOffset: j * 4, as: Int32.self))
                        if i < 0 { i += dim }
                        guard i >= 0 && i < dim else {
                            throw ModelError(.invalidInput, "node '\(name)' (Gather): index \(i < 0 ? i - dim : i) is out of range for axis of size \(dim)")
                        }
                        o.copyMemory(from: base + i * chunk, byteCount: chunk); o += chunk
                    }
                }
            }
        })

    static let transpose = OpImpl(
        infer: { ctx in
            let s = try ctx.shape(0)
            let perm = ctx.attrs.ints("perm") ?? Array(s.indices.reversed())
            guard perm.sorted() == Array(s.indices) else { throw ctx.fail("perm \(perm) is not a permutation of 0..<\(s.count)") }
            return Inferred(try ctx.type(0), perm.map { s[$0] })
        },
        prepare: { ctx, b in
            let x = b.input(0), y = b.outputs[0]
            let perm = ctx.attrs.ints("perm") ?? Array(x.shape.indices.reversed())
            let src = x.raw, dst = y.raw, size = x.dtype.size, shape = x.shape
            return { Transpose.run(src: src, dst: dst, elementSize: size, shape: shape, perm: perm) }
        })
}
