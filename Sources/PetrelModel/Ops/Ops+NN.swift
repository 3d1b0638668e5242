import PetrelKernels

// Convolution, batch normalization, softmax, layer normalization and reductions (fp32).

/// Pads (begin..., end...) for auto_pad modes, or the explicit `pads` attribute.
func spatialPads(_ ctx: NodeContext, input: [Int], kernel: [Int], strides: [Int], dilations: [Int]) throws -> [Int] {
    let r = input.count
    switch ctx.attrs.string("auto_pad") ?? "NOTSET" {
    case "NOTSET":
        let p = ctx.attrs.ints("pads") ?? Array(repeating: 0, count: 2 * r)
        guard p.count == 2 * r, p.allSatisfy({ $0 >= 0 }) else { throw ctx.fail("pads \(p) do not fit \(r) spatial dims") }
        return p
    case "VALID": return Array(repeating: 0, count: 2 * r)
    case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
        var begin = [Int](), end = [Int]()
        for i in 0..<r {
            let out = (input[i] + strides[i] - 1) / strides[i]
            let total = Swift.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - input[i])
            let small = total / 2, big = total - small
            begin.append(mode == "SAME_UPPER" ? small : big); end.append(mode == "SAME_UPPER" ? big : small)
        }
        return begin + end
    case let other: throw ctx.unsupported("auto_pad '\(other)' is not supported")
    }
}

extension OpImpl {
    /// Conv, with what fusion may add: an activation (`activation` and its parameters) and
    /// `pool = "MaxPool"`, a following 2×2, stride-2, unpadded MaxPool (floor sizes). The pool runs
    /// inside the Winograd kernel where it can (`Conv2D.fusesMaxPool2x2`), else after the conv
    /// from a full-size buffer in the workspace. ONNX's Conv has neither, so a model file may not
    /// carry them.
    static let conv = OpImpl(
        validate: { node in
            if let name = node.attributes.keys.sorted().first(where: { fusedConvAttributes.contains($0) }) {
                throw ModelError(.invalidGraph, "node '\(node.name)' (Conv): '\(name)' is not an attribute of Conv")
            }
        },
        infer: { ctx in
            let p = try convParams(ctx)
            var out = [p.params.n, p.params.cout] + (p.oneD ? [p.params.outW] : [p.params.outH, p.params.outW])
            var ws = Conv2D.workspaceFloats(p.params, threads: ctx.threads)
            if try convPools(ctx, p) {
                out = [out[0], out[1], out[2] / 2, out[3] / 2]
                if !Conv2D.fusesMaxPool2x2(p.params, Activation(attributes: ctx.attrs)) { ws += p.params.n * p.params.cout * p.params.outH * p.params.outW }
            }
            return Inferred([(.float32, out)], workspaceBytes: ws * 4)
        },
        prepare: { ctx, b in
            let (p, oneD) = try convParams(ctx)
            let x = b.input(0).pointer(Float.self), w = b.input(1).pointer(Float.self), y = b.outputs[0].pointer(Float.self)
            let bias = b.inputs.count > 2 ? b.inputs[2].map { UnsafePointer($0.pointer(Float.self)) } : nil
            let e = GemmEpilogue(bias: bias, biasPerRow: true, activation: Activation(attributes: ctx.attrs))
            let ws = b.workspace?.assumingMemoryBound(to: Float.self), pool = b.pool
            var prepared: UnsafePointer<Float>?
            if ctx.values.count > 1, ctx.values[1] != nil, let n = Conv2D.preparedWeightCount(p) {
                let laidOut = b.keep.tensor(Tensor(dtype: .float32, shape: [n]))
                Conv2D.prepareWeights(p, weight: w, into: laidOut.pointer(Float.self))
                prepared = UnsafePointer(laidOut.pointer(Float.self))
            }
            guard try convPools(ctx, (p, oneD)) else {
                return { Conv2D.run(p, input: x, weight: w, epilogue: e, output: y, workspace: ws, pool: pool, preparedWeights: prepared) }
            }
            if Conv2D.fusesMaxPool2x2(p, e.activation) {
                return { Conv2D.run(p, input: x, weight: w, epilogue: e, output: y, workspace: ws, pool: pool,
                                    preparedWeights: prepared, maxPool2x2: true) }
            }
            let full = ws! + Conv2D.workspaceFloats(p, threads: ctx.threads)
            let pp = PoolParams(input: [p.outH, p.outW], kernel: [2, 2], strides: [2, 2], pads: nil, dilations: [1, 1],
                                ceilMode: false, autoPad: .notSet)
            return {
                Conv2D.run(p, input: x, weight: w, epilogue: e, output: full, workspace: ws, pool: pool, preparedWeights: prepared)
                Pooling.maxPool(x: full, y: y, n: p.n, c: p.cout, pp, pool: pool)
            }
        })

    /// The attributes only fusion gives a Conv.
    static let fusedConvAttributes: Set<String> = ["activation", "alpha", "min", "max", "pool"]

    /// Whether a fused 2×2 MaxPool follows (2-D only; the output must keep a pixel).
    static func convPools(_ ctx: NodeContext, _ p: (params: ConvParams, oneD: Bool)) throws -> Bool {
        guard let pool = ctx.attrs.string("pool") else { return false }
        guard pool == "MaxPool", !p.oneD, p.params.outH >= 2, p.params.outW >= 2 else {
            throw ctx.fail("cannot fuse pool '\(pool)' into a conv with output \(p.params.outH)×\(p.params.outW)")
        }
        return true
    }

    static func convParams(_ ctx: NodeContext) throws -> (params: ConvParams, oneD: Bool) {
        try requireFloat32(ctx, [0, 1, 2])
        let x = try ctx.shape(0), w = try ctx.shape(1)
        guard x.count == 3 || x.count == 4 else { throw ctx.unsupported("only 1-D and 2-D convolution is supported (input shape \(x))") }
        guard w.count == x.count else { throw ctx.fail("weight shape \(w) does not match input shape \(x)") }
        let r = x.count - 2
        let group = ctx.attrs.int("group") ?? 1
        let kernel = ctx.attrs.ints("kernel_shape") ?? Array(w[2...])
        guard kernel == Array(w[2...]) else { throw ctx.fail("kernel_shape \(kernel) does not match weight shape \(w)") }
        let strides = ctx.attrs.ints("strides") ?? Array(repeating: 1, count: r)
        let dil = ctx.attrs.ints("dilations") ?? Array(repeating: 1, count: r)
        guard strides.count == r, dil.count == r, strides.allSatisfy({ $0 > 0 }), dil.allSatisfy({ $0 > 0 }) else {
            throw ctx.fail("strides \(strides) / dilations \(dil) do not fit \(r) spatial dims")
        }
        guard group > 0, x[1] % group == 0, w[0] % group == 0, w[1] * group == x[1] else {
            throw ctx.fail("input channels \(x[1]), weight \(w) and group \(group) do not agree")
        }
        if ctx.has(2), try ctx.shape(2) != [w[0]] { throw ctx.fail("bias shape \(try ctx.shape(2)) must be [\(w[0])]") }
        let pads = try spatialPads(ctx, input: Array(x[2...]), kernel: kernel, strides: strides, dilations: dil)
        let p: ConvParams
        if r == 1 {
            p = .conv1d(n: x[0], cin: x[1], length: x[2], cout: w[0], k: kernel[0], group: group,
                        stride: strides[0], padBegin: pads[0], padEnd: pads[1], dilation: dil[0])
        } else {
            p = ConvParams(n: x[0], cin: x[1], h: x[2], w: x[3], cout: w[0], kh: kernel[0], kw: kernel[1], group: group,
                           strides: (strides[0], strides[1]), pads: (pads[0], pads[1], pads[2], pads[3]),
                           dilations: (dil[0], dil[1]))
        }
        guard p.outH > 0, p.outW > 0 else { throw ctx.fail("the output would be empty (input \(x), kernel \(kernel), pads \(pads))") }
        return (p, r == 1)
    }

    static let batchNormalization = OpImpl(
        validate: { node in
            if (node.attributes.int("training_mode") ?? 0) != 0 || node.outputs.compactMap({ $0 }).count > 1 {
                throw ModelError(.unsupported, "node '\(node.name)' (BatchNormalization): training mode is not supported (Petrel runs inference only)")
            }
        },
        infer: { ctx in
            try requireFloat32(ctx, [0, 1, 2, 3, 4])
            let s = try ctx.shape(0)
            guard s.count >= 2 else { throw ctx.fail("input must have rank ≥ 2, got \(s)") }
            for i in 1...4 where try ctx.shape(i) != [s[1]] { throw ctx.fail("input \(i) must have shape [\(s[1])], got \(try ctx.shape(i))") }
            return Inferred(.float32, s)
        },
        prepare: { ctx, b in
            let x = b.input(0), y = b.outputs[0], c = x.shape[1], inner = Array(x.shape[2...]).product, n = x.shape[0]
            let eps = ctx.attrs.float("epsilon") ?? 1e-5
            let scale = b.input(1).pointer(Float.self), bias = b.input(2).pointer(Float.self)
            let mean = b.input(3).pointer(Float.self), variance = b.input(4).pointer(Float.self)
            let px = x.pointer(Float.self), py = y.pointer(Float.self)
            return {
                for ch in 0..<c {
                    let a = scale[ch] / (variance[ch] + eps).squareRoot(), s = bias[ch] - mean[ch] * a
                    for img in 0..<n {
                        let o = (img * c + ch) * inner
                        for i in 0..<inner { py[o + i] = px[o + i] * a + s }
                    }
                }
            }
        })

    static func softmaxFamily(log: Bool) -> OpImpl {
        OpImpl(
            infer: { ctx in
                try requireFloat32(ctx, [0])
                _ = try softmaxGeometry(ctx, try ctx.shape(0))
                return Inferred(.float32, try ctx.shape(0))
            },
            prepare: { ctx, b in
                let g = try softmaxGeometry(ctx, b.input(0).shape)
                let x = b.input(0).pointer(Float.self), y = b.outputs[0].pointer(Float.self), pool = b.pool
                return { Softmax.run(x: x, y: y, outer: g.outer, axis: g.axis, inner: g.inner, log: log, pool: pool) }
            })
    }

    /// Before opset 13 the input is coerced to 2-D at `axis` (default 1); from 13 it is one axis (default -1).
    static func softmaxGeometry(_ ctx: NodeContext, _ s: [Int]) throws -> (outer: Int, axis: Int, inner: Int) {
        if s.isEmpty { return (1, 1, 1) }
        if ctx.version < 13 {
            let a = try ctx.axis(ctx.attrs.int("axis") ?? 1, rank: s.count)
            return (Array(s[..<a]).product, Array(s[a...]).product, 1)
        }
        let a = try ctx.axis(ctx.attrs.int("axis") ?? -1, rank: s.count)
        return (Array(s[..<a]).product, s[a], Array(s[(a + 1)...]).product)
    }

    static let layerNormalization = OpImpl(
        validate: { node in
            if let st = node.attributes.int("stash_type"), st != 1 {
                throw ModelError(.unsupported, "node '\(node.name)' (LayerNormalization): stash_type \(st) is not supported (float only)")
            }
        },
        infer: { ctx in
            try requireFloat32(ctx, [0, 1, 2])
            let s = try ctx.shape(0)
            let a = try ctx.axis(ctx.attrs.int("axis") ?? -1, rank: s.count)
            let cols = Array(s[a...]).product
            guard try ctx.shape(1).product == cols, try !ctx.has(2) || ctx.shape(2).product == cols else {
                throw ctx.fail("scale/bias must have the \(cols) elements of the normalised dims \(Array(s[a...]))")
            }
            let stat = Array(s[..<a]) + Array(repeating: 1, count: s.count - a)
            return Inferred([(.float32, s), (.float32, stat), (.float32, stat)])
        },
        prepare: { ctx, b in
            let x = b.input(0), s = x.shape
            let a = try ctx.axis(ctx.attrs.int("axis") ?? -1, rank: s.count)
            let rows = Array(s[..<a]).product, cols = Array(s[a...]).product
            let eps = ctx.attrs.float("epsilon") ?? 1e-5
            let px = x.pointer(Float.self), scale = b.input(1).pointer(Float.self)
            let bias = b.inputs.count > 2 ? b.inputs[2].map { UnsafePointer($0.pointer(Float.self)) } : nil
            let y = b.outputs[0].pointer(Float.self)
            let mean = ctx.node.outputs.count > 1 && ctx.node.outputs[1] != nil ? b.outputs[1].pointer(Float.self) : nil
            let inv = ctx.node.outputs.count > 2 && ctx.node.outputs[2] != nil ? b.outputs[2].pointer(Float.self) : nil
            let pool = b.pool
            return { LayerNorm.run(x: px, scale: scale, bias: bias, y: y, rows: rows, cols: cols, epsilon: eps, mean: mean, invStdDev: inv, pool: pool) }
        })

    /// AddLayerNormalization (Petrel's, from `Fusion.fuseAddLayerNorm`): inputs (a, b, scale[, bias]),
    /// LayerNormalization's attributes; y = LayerNormalization(a + b), a + b broadcast as Add does.
    static let addLayerNorm = OpImpl(
        infer: { ctx in
            try requireFloat32(ctx, [0, 1, 2])
            let s = try broadcastShape(ctx, [try ctx.shape(0), try ctx.shape(1)])
            let a = try ctx.axis(ctx.attrs.int("axis") ?? -1, rank: s.count)
            let cols = Array(s[a...]).product
            guard try ctx.shape(2).product == cols, try !ctx.has(3) || ctx.shape(3).product == cols else {
                throw ctx.fail("scale/bias must have the \(cols) elements of the normalised dims \(Array(s[a...]))")
            }
            return Inferred(.float32, s)
        },
        prepare: { ctx, b in
            let x = b.input(0), skip = b.input(1), y = b.outputs[0], s = y.shape
            let a = try ctx.axis(ctx.attrs.int("axis") ?? -1, rank: s.count)
            let rows = Array(s[..<a]).product, cols = Array(s[a...]).product
            let eps = ctx.attrs.float("epsilon") ?? 1e-5
            let px = x.pointer(Float.self), ps = skip.pointer(Float.self), py = y.pointer(Float.self)
            let scale = b.input(2).pointer(Float.self)
            let bias = b.inputs.count > 3 ? b.inputs[3].map { UnsafePointer($0.pointer(Float.self)) } : nil
            let pool = b.pool
            if x.shape == s && skip.shape == s {
                return { LayerNorm.run(x: px, skip: ps, scale: scale, bias: bias, y: py, rows: rows, cols: cols, epsilon: eps, pool: pool) }
            }
            let (sx, ss) = (x.shape, skip.shape)
            return {
                Elementwise.binary(.add, a: px, aShape: sx, b: ps, bShape: ss, out: py, outShape: s, pool: pool)
                LayerNorm.run(x: py, scale: scale, bias: bias, y: py, rows: rows, cols: cols, epsilon: eps, pool: pool)
            }
        })

    static func reduce(_ op: ReduceOp, axesInputFrom: Int) -> OpImpl {
        OpImpl(
            infer: { ctx in
                try requireFloat32(ctx, [0])
                let g = try reduceGeometry(ctx, axesInputFrom: axesInputFrom)
                return Inferred(.float32, g.out)
            },
            prepare: { ctx, b in
                let g = try reduceGeometry(ctx, axesInputFrom: axesInputFrom)
                let x = b.input(0), y = b.outputs[0].pointer(Float.self), shape = x.shape, pool = b.pool
                let px = x.pointer(Float.self)
                return { Reduce.run(op, x: px, shape: shape, axes: g.axes, y: y, pool: pool) }
            })
    }

    static func reduceGeometry(_ ctx: NodeContext, axesInputFrom: Int) throws -> (axes: [Int], out: [Int]) {
        let s = try ctx.shape(0)
        let raw = ctx.version >= axesInputFrom ? try ctx.optionalValue(1, "axes")?.ints() : ctx.attrs.ints("axes")
        let keep = (ctx.attrs.int("keepdims") ?? 1) != 0
        var axes: [Int]
        if let raw, !raw.isEmpty { axes = try Array(Set(raw.map { try ctx.axis($0, rank: s.count) })).sorted() }
        else if (ctx.attrs.int("noop_with_empty_axes") ?? 0) != 0 { axes = [] }
        else { axes = Array(s.indices) }
        return (axes, Reduce.outputShape(s, axes: axes, keepDims: keep))
    }
}

func requireFloat32(_ ctx: NodeContext, _ inputs: [Int]) throws {
    for i in inputs where ctx.has(i) {
        guard try ctx.type(i) == .float32 else { throw ctx.unsupported("input \(i) is \(try ctx.type(i)); only float is supported") }
    }
}
