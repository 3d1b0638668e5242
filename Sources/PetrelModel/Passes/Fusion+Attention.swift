import PetrelKernels

/// Scaled dot-product attention as it stands after `foldIntoMatMul`:
///
///     s = MatMul(Q, K; perm_a [0,2,1,3], perm_b [0,2,3,1], alpha)   Q, K, V: [B, S, H, D]
///     p = Softmax(Add(s, mask), axis −1)                              (the Add is optional)
///     o = Transpose(MatMul(p, V; perm_b [0,2,1,3]), [0,2,1,3])        [B, S, H, D]
///
/// → Attention(Q, K, V[, mask]; scale): per (batch, head), the scores never leave the cache
/// (`PetrelKernels.Attention`), and the output lands in [B, S, H, D] with no transpose.
extension Fusion {
    static func fuseAttention(_ g: inout Graph) -> Int {
        untilFixpoint(&g) { g, uses in
            func only(_ v: Int?) -> Int? { g.soleReader(of: v, uses) }
            for (i, mm1) in g.nodes.enumerated() where mm1.op == .matMul {
                let a = mm1.attributes
                guard a.ints("perm_a") == [0, 2, 1, 3], a.ints("perm_b") == [0, 2, 3, 1],
                      let q = mm1.inputs[0], let k = mm1.inputs[1], var next = only(mm1.outputs[0]) else { continue }
                var mask: Int?, dead = [i]
                if g.nodes[next].op == .add {
                    let add = g.nodes[next]
                    mask = add.inputs[0] == mm1.outputs[0] ? add.inputs[1] : add.inputs[0]
                    guard mask != mm1.outputs[0], let n = only(add.outputs[0]) else { continue }
                    dead.append(next); next = n
                }
                // Softmax over the keys: the last axis (before opset 13, an axis of 3 or −1 also
                // flattens to rows of keys; its default of 1 does not).
                let sm = g.nodes[next]
                let axis = sm.attributes.int("axis") ?? (sm.version >= 13 ? -1 : 1)
                guard sm.op == .softmax, axis == -1 || axis == 3, let m2 = only(sm.outputs[0]) else { continue }
                let mm2 = g.nodes[m2]
                guard mm2.op == .matMul, mm2.inputs[0] == sm.outputs[0], mm2.attributes.ints("perm_a") == nil,
                      mm2.attributes.ints("perm_b") == [0, 2, 1, 3], (mm2.attributes.float("alpha") ?? 1) == 1,
                      let v = mm2.inputs[1], let t = only(mm2.outputs[0]), g.nodes[t].op == .transpose,
                      g.nodes[t].attributes.ints("perm") == [0, 2, 1, 3], let out = g.nodes[t].outputs[0] else { continue }
                dead += [next, m2]
                g.nodes[t] = Node(op: .attention, version: 1, name: mm1.name + "_attention",
                                  inputs: [q, k, v] + (mask.map { [$0] } ?? []), outputs: [out],
                                  attributes: ["scale": .float(a.float("alpha") ?? 1)])
                g.removeNodes(Set(dead))
                return true
            }
            return false
        }
    }
}

extension OpImpl {
    /// Attention(Q, K, V[, mask]): Q [B, Sq, H, D], K [B, Skv, H, D], V [B, Skv, H, Dv], an additive
    /// mask broadcastable to [B, H, Sq, Skv] → [B, Sq, H, Dv]. A mask that would broadcast the
    /// scores up to a larger shape (the unfused Add allows it; no exporter writes it) is refused
    /// while planning, with the shapes in the message.
    static let attention = OpImpl(
        infer: { ctx in
            let s = try attentionShape(ctx)
            if ctx.has(3) { _ = try attentionMaskStrides(ctx, try ctx.shape(3), s) }
            return Inferred([(.float32, [s.batch, s.queries, s.heads, s.valueDim])],
                            workspaceBytes: Attention.scratchFloats(s, threads: ctx.threads) * 4)
        },
        prepare: { ctx, b in
            let s = try attentionShape(ctx)
            let q = b.input(0).pointer(Float.self), k = b.input(1).pointer(Float.self), v = b.input(2).pointer(Float.self)
            let out = b.outputs[0].pointer(Float.self), pool = b.pool, scale = ctx.attrs.float("scale") ?? 1
            let scratch = b.workspace!.assumingMemoryBound(to: Float.self)
            var mask: AttentionMask?
            if ctx.has(3) {
                let m = b.input(3)
                mask = AttentionMask(base: UnsafePointer(m.pointer(Float.self)), strides: try attentionMaskStrides(ctx, m.shape, s))
            }
            return { Attention.run(s, q: q, k: k, v: v, mask: mask, scale: scale, out: out, scratch: scratch, pool: pool) }
        })

    static func attentionShape(_ ctx: NodeContext) throws -> AttentionShape {
        try requireFloat32(ctx, [0, 1, 2, 3])
        let q = try ctx.shape(0), k = try ctx.shape(1), v = try ctx.shape(2)
        guard q.count == 4, k.count == 4, v.count == 4, k[0] == q[0], v[0] == q[0], k[2] == q[2], v[2] == q[2],
              k[3] == q[3], v[1] == k[1] else {
            throw ctx.fail("Q \(q), K \(k) and V \(v) are not [batch, seq, heads, dim] of one attention")
        }
        return AttentionShape(batch: q[0], heads: q[2], queries: q[1], keys: k[1], dim: q[3], valueDim: v[3])
    }

    /// Element strides of a mask broadcast to [batch, heads, queries, keys] (numpy rules, right-aligned).
    static func attentionMaskStrides(_ ctx: NodeContext, _ m: [Int], _ s: AttentionShape) throws
        -> (batch: Int, head: Int, query: Int, key: Int) {
        let full = [s.batch, s.heads, s.queries, s.keys]
        guard m.count <= 4 else { throw ctx.fail("mask \(m) has more than 4 dims") }
        let dims = Array(repeating: 1, count: 4 - m.count) + m
        var strides = [0, 0, 0, 0], step = 1
        for i in stride(from: 3, through: 0, by: -1) {
            guard dims[i] == full[i] || dims[i] == 1 else { throw ctx.fail("mask \(m) does not broadcast to \(full)") }
            strides[i] = dims[i] == 1 ? 0 : step
            step *= dims[i]
        }
        return (strides[0], strides[1], strides[2], strides[3])
    }
}
