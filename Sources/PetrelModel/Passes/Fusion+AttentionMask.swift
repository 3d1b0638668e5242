/// The attention-mask subgraph BERT-style exports emit (transformers before torch 2's SDPA):
///
///     m = Cast(mask, float) [after Unsqueezes];  bias = (1 − m) · c        (c = −10000 or float.min)
///
/// → MaskBias(mask, scale c): one pass from the integer mask to the additive float bias instead of
/// three. (torch 2 SDPA exports, like the bundled MiniLM, build a boolean mask from shape
/// arithmetic instead; Petrel evaluates that part while planning, leaving four small ops per request.)
extension Fusion {
    static func fuseAttentionMask(_ g: inout Graph) -> Int {
        untilFixpoint(&g) { g, uses in
            func only(_ v: Int?) -> Int? { g.soleReader(of: v, uses) }
            for (ci, cast) in g.nodes.enumerated() where cast.op == .cast && cast.attributes.int("to") == DType.float32.rawValue {
                guard let m = cast.outputs[0], let si = only(m), g.nodes[si].op == .sub,
                      g.nodes[si].inputs[1] == m, g.scalar(g.nodes[si].inputs[0]) == 1,
                      let mi = only(g.nodes[si].outputs[0]), g.nodes[mi].op == .mul else { continue }
                let mul = g.nodes[mi], d = g.nodes[si].outputs[0]
                guard let scale = g.scalar(mul.inputs[0] == d ? mul.inputs[1] : mul.inputs[0]), let out = mul.outputs[0] else { continue }
                g.nodes[mi] = Node(op: .maskBias, version: 1, name: mul.name + "_maskbias", inputs: [cast.inputs[0]],
                                   outputs: [out], attributes: ["scale": .float(scale)])
                g.removeNodes([ci, si])
                return true
            }
            return false
        }
    }
}

extension OpImpl {
    /// MaskBias: y = (1 − float(x)) · scale, x of any numeric or bool type, in one pass.
    static let maskBias = OpImpl(
        infer: { ctx in Inferred(.float32, try ctx.shape(0)) },
        prepare: { ctx, b in
            let x = b.input(0), y = b.outputs[0].pointer(Float.self), n = x.count
            let scale = ctx.attrs.float("scale") ?? -10000
            if x.dtype == .bool {
                let px = x.pointer(Bool.self)
                return { for i in 0..<n { y[i] = px[i] ? 0 : scale } }
            }
            struct Bias: NumericVisitor {
                let x: Tensor, y: UnsafeMutablePointer<Float>, n: Int, scale: Float
                func visit<T: NumericElement>(_: T.Type) throws -> Step {
                    let px = x.pointer(T.self), y = y, n = n, scale = scale
                    return { for i in 0..<n { y[i] = (1 - Float(px[i].double)) * scale } }
                }
            }
            return try x.dtype.visit(Bias(x: x, y: y, n: n, scale: scale))
        })
}
