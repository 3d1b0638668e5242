import PetrelKernels

// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool (fp32, 1 to 3 spatial dims), and Pad.

extension OpImpl {
    static func pool(max: Bool) -> OpImpl {
        OpImpl(
            validate: { node in
                if max, (node.attributes.int("storage_order") ?? 0) != 0 {
                    throw ModelError(.unsupported, "node '\(node.name)' (MaxPool): storage_order = 1 is not supported")
                }
                if max, node.outputs.count > 1, node.outputs[1] != nil {
                    throw ModelError(.unsupported, "node '\(node.name)' (MaxPool): the Indices output is not supported")
                }
            },
            infer: { ctx in
                let p = try poolParams(ctx)
                return Inferred(.float32, Array(try ctx.shape(0).prefix(2)) + p.output)
            },
            prepare: { ctx, b in
                let p = try poolParams(ctx), s = b.input(0).shape
                let x = b.input(0).pointer(Float.self), y = b.outputs[0].pointer(Float.self), pool = b.pool
                let includePad = (ctx.attrs.int("count_include_pad") ?? 0) != 0
                if max { return { Pooling.maxPool(x: x, y: y, n: s[0], c: s[1], p, pool: pool) } }
                return { Pooling.averagePool(x: x, y: y, n: s[0], c: s[1], p, countIncludePad: includePad, pool: pool) }
            })
    }

    static func poolParams(_ ctx: NodeContext) throws -> PoolParams {
        try requireFloat32(ctx, [0])
        let s = try ctx.shape(0)
        guard (3...5).contains(s.count) else { throw ctx.unsupported("pooling over \(s.count - 2) spatial dims is not supported (input \(s))") }
        let r = s.count - 2
        guard let kernel = ctx.attrs.ints("kernel_shape"), kernel.count == r, kernel.allSatisfy({ $0 > 0 }) else {
            throw ctx.fail("kernel_shape must list \(r) positive sizes")
        }
        let strides = ctx.attrs.ints("strides") ?? Array(repeating: 1, count: r)
        let dil = ctx.attrs.ints("dilations") ?? Array(repeating: 1, count: r)
        let pads = ctx.attrs.ints("pads")
        guard strides.count == r, dil.count == r, pads == nil || pads!.count == 2 * r else {
            throw ctx.fail("strides, dilations and pads do not fit \(r) spatial dims")
        }
        guard let autoPad = PoolParams.AutoPad(rawValue: ctx.attrs.string("auto_pad") ?? "NOTSET") else {
            throw ctx.unsupported("auto_pad '\(ctx.attrs.string("auto_pad")!)' is not supported")
        }
        let p = PoolParams(input: Array(s[2...]), kernel: kernel, strides: strides, pads: pads, dilations: dil,
                           ceilMode: (ctx.attrs.int("ceil_mode") ?? 0) != 0, autoPad: autoPad)
        guard p.output.allSatisfy({ $0 > 0 }) else { throw ctx.fail("the output would be empty (input \(s), kernel \(kernel))") }
        return p
    }

    static func globalPool(max: Bool) -> OpImpl {
        OpImpl(
            infer: { ctx in
                try requireFloat32(ctx, [0])
                let s = try ctx.shape(0)
                guard s.count >= 3 else { throw ctx.fail("input must have rank ≥ 3, got \(s)") }
                return Inferred(.float32, [s[0], s[1]] + Array(repeating: 1, count: s.count - 2))
            },
            prepare: { _, b in
                let s = b.input(0).shape, spatial = Array(s[2...]).product
                let x = b.input(0).pointer(Float.self), y = b.outputs[0].pointer(Float.self), pool = b.pool
                if max { return { Pooling.globalMaxPool(x: x, y: y, n: s[0], c: s[1], spatial: spatial, pool: pool) } }
                return { Pooling.globalAveragePool(x: x, y: y, n: s[0], c: s[1], spatial: spatial, pool: pool) }
            })
    }

    static let pad = OpImpl(
        infer: { ctx in
            let g = try padGeometry(ctx)
            let out = Pad.outputShape(try ctx.shape(0), pads: g.pads)
            guard out.allSatisfy({ $0 >= 0 }) else { throw ctx.fail("pads \(g.pads) crop shape \(try ctx.shape(0)) below zero") }
            return Inferred(try ctx.type(0), out)
        },
        prepare: { ctx, b in
            let g = try padGeometry(ctx)
            let x = b.input(0), y = b.outputs[0], pool = b.pool
            let src = x.raw, dst = y.raw, size = x.dtype.size, shape = x.shape
            let value: UnsafeRawPointer?
            if ctx.version < 11 {
                let v = Tensor(shape: [], [ctx.attrs.float("value") ?? 0])
                let c = b.keep.tensor(Tensor(dtype: x.dtype, shape: []))
                try castStep(v, c)()
                value = UnsafeRawPointer(c.raw)
                return { Pad.run(src: src, dst: dst, elementSize: size, shape: shape, pads: g.pads, mode: g.mode, constantValue: value, pool: pool) }
            }
            let cv = b.inputs.count > 2 ? b.inputs[2] : nil
            if let cv, cv.count != 1 { throw ctx.fail("constant_value must be a scalar") }
            value = cv.map { UnsafeRawPointer($0.raw) }
            return { Pad.run(src: src, dst: dst, elementSize: size, shape: shape, pads: g.pads, mode: g.mode, constantValue: value, pool: pool) }
        })

    static func padGeometry(_ ctx: NodeContext) throws -> (pads: [Int], mode: PadMode) {
        let s = try ctx.shape(0), r = s.count
        let modeName = ctx.attrs.string("mode") ?? "constant"
        let mode: PadMode
        switch modeName {
        case "constant": mode = .constant
        case "reflect": mode = .reflect
        case "edge": mode = .edge
        case "wrap": mode = .wrap
        default: throw ctx.unsupported("mode '\(modeName)' is not supported")
        }
        var raw: [Int]
        if ctx.version < 11 {
            guard let p = ctx.attrs.ints("pads") ?? ctx.attrs.ints("paddings") else { throw ctx.fail("attribute 'pads' is required") }
            raw = p
        } else { raw = try ctx.value(1, "pads").ints() }
        var pads = raw
        if ctx.version >= 18, let axes = try ctx.optionalValue(3, "axes")?.ints() {
            guard raw.count == 2 * axes.count else { throw ctx.fail("pads \(raw) do not fit axes \(axes)") }
            pads = Array(repeating: 0, count: 2 * r)
            for (k, a) in axes.enumerated() {
                let ax = try ctx.axis(a, rank: r)
                pads[ax] = raw[k]; pads[r + ax] = raw[axes.count + k]
            }
        }
        guard pads.count == 2 * r else { throw ctx.fail("pads \(pads) must have \(2 * r) entries for rank \(r)") }
        if mode == .reflect {
            for i in 0..<r where pads[i] >= s[i] || pads[r + i] >= s[i] {
                if pads[i] > 0 || pads[r + i] > 0 { throw ctx.unsupported("reflect pads \(pads) must be smaller than the dims \(s)") }
            }
        }
        return (pads, mode)
    }
}
