/// LayerNorm as exporters before opset 17 (and TensorFlow) emit it, over the last axis:
///
///     mean = ReduceMean(x, [-1]);  d = x − mean;  var = ReduceMean(d², [-1])     (d² = Pow(d, 2) or d·d)
///     y = d / Sqrt(var + ε)  [· γ]  [+ β]
///
/// → one LayerNormalization(x, γ, β, axis −1, ε): one pass per row instead of nine elementwise and
/// reduction passes over the tensor.
extension Fusion {
    static func fuseLayerNorm(_ g: inout Graph) -> Int {
        var count = 0
        while let m = findLayerNorm(g) {
            var node = g.nodes[m.last]
            let c = m.width
            let gamma = m.gamma ?? {
                let id = g.addValue(node.name + "_ln_scale", dtype: .float32, shape: [.fixed(c)])
                g.constants[id] = Tensor(shape: [c], [Float](repeating: 1, count: c))
                return id
            }()
            node = Node(op: .layerNormalization, version: 17, name: node.name + "_layernorm",
                        inputs: [m.x, gamma] + (m.beta.map { [$0] } ?? []), outputs: [m.out],
                        attributes: ["axis": .int(-1), "epsilon": .float(m.epsilon)])
            g.nodes[m.last] = node
            g.removeNodes(Set(m.remove))
            count += 1
        }
        return count
    }

    private struct LayerNormMatch {
        var x: Int, out: Int, gamma: Int?, beta: Int?, epsilon: Float, width: Int, last: Int, remove: [Int]
    }

    /// True when node `n` is ReduceMean over the last axis only, keeping dims. `rank` is the rank of
    /// the pattern's input x (the intermediate values have no shapes before planning).
    private static func isLastAxisMean(_ n: Node, _ g: Graph, rank: Int?) -> Bool {
        guard n.op == .reduceMean, (n.attributes.int("keepdims") ?? 1) == 1 else { return false }
        let axes = n.version >= 18 ? (n.inputs.count > 1 ? g.constant(n.inputs[1])?.ints() : nil) : n.attributes.ints("axes")
        guard let axes, axes.count == 1 else { return false }
        if axes[0] == -1 { return true }
        return rank.map { axes[0] == $0 - 1 } ?? false
    }

    private static func findLayerNorm(_ g: Graph) -> LayerNormMatch? {
        let uses = g.consumers()
        func only(_ v: Int?) -> Node? { g.soleReader(of: v, uses).map { g.nodes[$0] } }
        func index(_ n: Node) -> Int { g.nodes.firstIndex { $0.outputs == n.outputs }! }
        func other(_ n: Node, _ v: Int?) -> Int? { n.inputs.count == 2 ? (n.inputs[0] == v ? n.inputs[1] : n.inputs[0]) : nil }
        for mean in g.nodes where mean.op == .reduceMean {
            let rank = mean.inputs[0].flatMap { g.values[$0].shape?.count }
            guard isLastAxisMean(mean, g, rank: rank), let x = mean.inputs[0], let meanOut = mean.outputs[0], let sub = only(meanOut), sub.op == .sub,
                  sub.inputs[0] == x, sub.inputs[1] == meanOut, let d = sub.outputs[0],
                  let dUses = uses[d].map(Set.init), dUses.count == 2, !g.isGraphOutput(d) else { continue }
            let users = dUses.map { g.nodes[$0] }
            guard let square = users.first(where: { ($0.op == .pow && g.scalar($0.inputs[1]) == 2) || ($0.op == .mul && $0.inputs[0] == d && $0.inputs[1] == d) }),
                  let div = users.first(where: { $0.op == .div && $0.inputs[0] == d }),
                  let mean2 = only(square.outputs[0]), isLastAxisMean(mean2, g, rank: rank),
                  let addEps = only(mean2.outputs[0]), addEps.op == .add, let eps = g.scalar(other(addEps, mean2.outputs[0])),
                  let sqrt = only(addEps.outputs[0]), sqrt.op == .sqrt, div.inputs[1] == sqrt.outputs[0],
                  only(sqrt.outputs[0]) != nil, var out = div.outputs[0] else { continue }
            var chain = [mean, sub, square, mean2, addEps, sqrt, div].map(index)
            var gamma: Int?, beta: Int?
            var width: Int?
            func vector(_ v: Int?) -> Int? {
                guard let t = g.constant(v), t.dtype == .float32, t.shape.count >= 1, t.count == t.shape.last! else { return nil }
                return t.count
            }
            if let mul = only(out), mul.op == .mul, let gid = other(mul, out), let w = vector(gid), let o = mul.outputs[0] {
                gamma = gid; width = w; chain.append(index(mul)); out = o
            }
            if let add = only(out), add.op == .add, let bid = other(add, out), let w = vector(bid), width == nil || width == w,
               let o = add.outputs[0] {
                beta = bid; width = w; chain.append(index(add)); out = o
            }
            guard let c = width ?? g.values[x].shape?.last?.value else { continue }
            let last = chain.max()!
            return LayerNormMatch(x: x, out: out, gamma: gamma, beta: beta,
                                  epsilon: eps, width: c, last: last, remove: chain.filter { $0 != last })
        }
        return nil
    }
}

/// A residual Add feeding a LayerNormalization (every transformer block, twice):
///
///     s = Add(a, b);  y = LayerNormalization(s, γ[, β])    (s read by nothing else)
///
/// → AddLayerNormalization(a, b, γ[, β]): each row is summed while it is in L1 and normalised
/// there, instead of the sum going out to memory and coming back (see `LayerNorm.run`). Only
/// when the LayerNorm's mean and inverse-deviation outputs are unused; a + b may broadcast.
extension Fusion {
    static func fuseAddLayerNorm(_ g: inout Graph) -> Int {
        untilFixpoint(&g) { g, uses in
            for (ai, add) in g.nodes.enumerated() where add.op == .add && add.inputs.count == 2 {
                guard let s = add.outputs[0], let li = g.soleReader(of: s, uses), case let ln = g.nodes[li],
                      ln.op == .layerNormalization, ln.inputs[0] == s, ln.outputs.dropFirst().allSatisfy({ $0 == nil }),
                      let a = add.inputs[0], let b = add.inputs[1] else { continue }
                var attributes = ln.attributes
                attributes["stash_type"] = nil
                g.nodes[li] = Node(op: .addLayerNorm, version: 1, name: ln.name + "_add", inputs: [a, b] + Array(ln.inputs.dropFirst()),
                                   outputs: [ln.outputs[0]], attributes: attributes)
                g.removeNodes([ai])
                return true
            }
            return false
        }
    }
}
