import PetrelKernels
#if canImport(Glibc)
import Glibc
#endif

/// Fusions, each a rewrite of a pattern exporters emit into one node that runs in one pass over
/// memory. All need the intermediate values to have no other reader.
enum Fusion {
    static let activations: Set<Op> = [.relu, .leakyRelu, .clip, .sigmoid, .tanh, .gelu]

    /// Conv → BatchNormalization with constant parameters: BN folds into the conv's weights and bias
    /// (W' = W·a, b' = (b − mean)·a + β, a = γ/√(var + ε)).
    static func foldBatchNorm(_ g: inout Graph) -> Int {
        var uses = g.consumers()
        var dead = Set<Int>(), count = 0
        for (i, bn) in g.nodes.enumerated() where bn.op == .batchNormalization {
            guard let x = bn.inputs[0], let convIndex = g.nodes.firstIndex(where: { $0.op == .conv && $0.outputs.first == x }),
                  uses[x]?.count == 1, !g.isGraphOutput(x),
                  let gamma = g.constant(bn.inputs[1]), let beta = g.constant(bn.inputs[2]),
                  let mean = g.constant(bn.inputs[3]), let variance = g.constant(bn.inputs[4]),
                  gamma.dtype == .float32, [beta, mean, variance].allSatisfy({ $0.dtype == .float32 }),
                  let wID = g.nodes[convIndex].inputs[1], let w = g.constants[wID], w.dtype == .float32 else { continue }
            let conv = g.nodes[convIndex]
            let cout = w.shape[0], per = w.count / cout
            guard gamma.count == cout, beta.count == cout, mean.count == cout, variance.count == cout else { continue }
            let eps = bn.attributes.float("epsilon") ?? 1e-5
            let oldBias = conv.inputs.count > 2 ? g.constant(conv.inputs[2]) : nil
            let nw = w.copy(), nb = Tensor(dtype: .float32, shape: [cout])
            let pw = nw.pointer(Float.self), pb = nb.pointer(Float.self)
            for c in 0..<cout {
                let a = gamma.pointer(Float.self)[c] / (variance.pointer(Float.self)[c] + eps).squareRoot()
                for j in 0..<per { pw[c * per + j] *= a }
                let b0 = oldBias?.pointer(Float.self)[c] ?? 0
                pb[c] = (b0 - mean.pointer(Float.self)[c]) * a + beta.pointer(Float.self)[c]
            }
            let newW = g.addValue(g.values[wID].name + "_bnfolded", dtype: .float32, shape: nw.shape.map { .fixed($0) })
            let newB = g.addValue(g.values[wID].name + "_bnbias", dtype: .float32, shape: [.fixed(cout)])
            g.constants[newW] = nw; g.constants[newB] = nb
            var fused = conv
            fused.inputs = [conv.inputs[0], newW, newB]
            fused.outputs = [bn.outputs[0]]
            g.nodes[convIndex] = fused
            dead.insert(i)
            uses = g.consumers()
            count += 1
        }
        g.removeNodes(dead)
        return count
    }

    /// Exact-erf GELU as PyTorch exports it: x · 0.5 · (1 + erf(x / √2)) in any association of the
    /// multiplications, → one Gelu node.
    static func fuseGelu(_ g: inout Graph) -> Int {
        var count = 0
        while let m = findGelu(g) {
            var gelu = g.nodes[m.erf]
            gelu.op = .gelu; gelu.version = 20; gelu.attributes = [:]
            gelu.inputs = [m.x]; gelu.outputs = [m.out]
            gelu.name = g.nodes[m.last].name + "_gelu"
            g.nodes[m.last] = gelu
            g.removeNodes(Set(m.remove))
            count += 1
        }
        return count
    }

    private static func findGelu(_ g: Graph) -> (x: Int, out: Int, erf: Int, last: Int, remove: [Int])? {
        let uses = g.consumers()
        func single(_ v: Int?) -> Int? { g.soleReader(of: v, uses) }
        func producer(_ v: Int?) -> Int? { v.flatMap { v in g.nodes.firstIndex { $0.outputs.contains(v) } } }
        let sqrt2: Float = 1.4142135
        for (e, erf) in g.nodes.enumerated() where erf.op == .erf {
            // x / √2 (Div by 1.414 or Mul by 0.7071)
            guard let d = producer(erf.inputs[0]) else { continue }
            let div = g.nodes[d]
            guard let x = div.inputs[0],
                  (div.op == .div && abs((g.scalar(div.inputs[1]) ?? 0) - sqrt2) < 1e-3) ||
                  (div.op == .mul && abs((g.scalar(div.inputs[1]) ?? 0) - 1 / sqrt2) < 1e-3),
                  single(div.outputs[0]) == e, let a = single(erf.outputs[0]) else { continue }
            let add = g.nodes[a]
            guard add.op == .add, let other = add.inputs.first(where: { $0 != erf.outputs[0] }), g.scalar(other) == 1,
                  let m1 = single(add.outputs[0]), g.nodes[m1].op == .mul, let m2 = single(g.nodes[m1].outputs[0]),
                  g.nodes[m2].op == .mul else { continue }
            // One of the two Muls takes x, the other 0.5.
            let mulA = g.nodes[m1], mulB = g.nodes[m2]
            let aOther = mulA.inputs.first { $0 != add.outputs[0] } ?? nil
            let bOther = mulB.inputs.first { $0 != mulA.outputs[0] } ?? nil
            let ok = (aOther == x && g.scalar(bOther) == 0.5) || (g.scalar(aOther) == 0.5 && bOther == x)
            guard ok, let out = mulB.outputs[0] else { continue }
            return (x, out, e, m2, [d, e, a, m1])
        }
        return nil
    }

    /// MatMul/Gemm with constant 2-D weights (+ a constant bias Add, + an activation) → Dense with
    /// the weights pre-packed for the GEMM microkernel.
    static func fuseDense(_ g: inout Graph) throws -> Int {
        var count = 0
        var i = 0
        while i < g.nodes.count {
            let n = g.nodes[i]
            var k = 0, nOut = 0, transB = false
            var bias: Tensor?
            guard let wID = n.inputs.count > 1 ? n.inputs[1] : nil, let w = g.constants[wID], w.dtype == .float32, w.shape.count == 2,
                  let x = n.inputs[0], g.constants[x] == nil else { i += 1; continue }
            if n.op == .matMul {
                k = w.shape[0]; nOut = w.shape[1]
            } else if n.op == .gemm {
                let a = n.attributes
                guard (a.int("transA") ?? 0) == 0, (a.float("alpha") ?? 1) == 1 else { i += 1; continue }
                transB = (a.int("transB") ?? 0) != 0
                k = transB ? w.shape[1] : w.shape[0]; nOut = transB ? w.shape[0] : w.shape[1]
                if n.inputs.count > 2, let c = n.inputs[2] {
                    guard let ct = g.constants[c], ct.count == nOut, (a.float("beta") ?? 1) == 1,
                          ct.shape.count < 2 || ct.shape[0] == 1 else { i += 1; continue }
                    bias = ct
                }
            } else { i += 1; continue }
            guard var out = n.outputs[0] else { i += 1; continue }
            var dead = Set<Int>()
            let uses = g.consumers()
            // + bias
            if bias == nil, let u = g.soleReader(of: out, uses), g.nodes[u].op == .add {
                let add = g.nodes[u]
                if let b = add.inputs.first(where: { $0 != out }) ?? nil, let bt = g.constants[b], bt.dtype == .float32,
                   bt.count == nOut, bt.shape.last == nOut, let o = add.outputs[0] {
                    bias = bt; dead.insert(u); out = o
                }
            }
            // + activation
            var attrs: [String: Attribute] = ["k": .int(k), "n": .int(nOut)]
            if let u = g.soleReader(of: out, g.consumers()), activations.contains(g.nodes[u].op),
               !dead.contains(u), let act = activationAttributes(g.nodes[u], g), let o = g.nodes[u].outputs[0] {
                attrs.merge(act) { $1 }
                dead.insert(u); out = o
            }
            let layout = Gemm.packedLayout(k: k, n: nOut)
            attrs["nr"] = .int(layout.nr)
            let packed = Tensor(dtype: .float32, shape: [layout.floatCount])
            Gemm.packB(k: k, n: nOut, b: w.pointer(Float.self), ldb: w.shape[1], transB: transB, into: packed.pointer(Float.self))
            let pw = g.addValue(g.values[wID].name + "_packed", dtype: .float32, shape: [.fixed(layout.floatCount)])
            g.constants[pw] = packed
            var inputs: [Int?] = [x, pw]
            if let bias {
                let b = g.addValue(n.name + "_bias", dtype: .float32, shape: [.fixed(nOut)])
                g.constants[b] = bias.reshaped([nOut])
                inputs.append(b)
            }
            g.nodes[i] = Node(op: .dense, version: 1, name: n.name, inputs: inputs, outputs: [out], attributes: attrs)
            // Place the fused node where its last absorbed node was, so every reader still follows it.
            let removed = dead.sorted()
            if let last = removed.last {
                let fused = g.nodes[i]
                g.nodes[last] = fused
                g.removeNodes(Set(removed.dropLast() + [i]))
                i = 0; count += 1; continue
            }
            count += 1
            i += 1
        }
        return count
    }

    /// Runs `rewrite` until it reports no change, counting the changes. Each call gets the
    /// consumers of the graph as it stands and makes at most one rewrite (which invalidates them).
    static func untilFixpoint(_ g: inout Graph, _ rewrite: (inout Graph, _ uses: [Int: [Int]]) -> Bool) -> Int {
        var count = 0
        while rewrite(&g, g.consumers()) { count += 1 }
        return count
    }

    /// Folds the sole reader of a Conv's output into the Conv: `attributes` says what the Conv
    /// gains for that reader (nil: it does not fuse), and the reader's output becomes the Conv's.
    static func fuseIntoConv(_ g: inout Graph, _ attributes: (_ conv: Node, _ reader: Node, Graph) -> [String: Attribute]?) -> Int {
        untilFixpoint(&g) { g, uses in
            for (i, n) in g.nodes.enumerated() where n.op == .conv {
                guard let u = g.soleReader(of: n.outputs[0], uses), let extra = attributes(n, g.nodes[u], g),
                      let o = g.nodes[u].outputs[0] else { continue }
                var fused = n
                fused.attributes.merge(extra) { $1 }
                fused.outputs = [o]
                g.nodes[u] = fused
                g.removeNodes([i])
                return true
            }
            return false
        }
    }

    /// Conv followed by an activation → Conv with the activation fused into its GEMM epilogue.
    /// Not after a fused pool: the activation runs before the pool.
    static func fuseConvActivation(_ g: inout Graph) -> Int {
        fuseIntoConv(&g) { conv, reader, g in
            guard conv.attributes["activation"] == nil, conv.attributes["pool"] == nil, activations.contains(reader.op) else { return nil }
            return activationAttributes(reader, g)
        }
    }

    /// Conv (2-D, activation already fused) → MaxPool 2×2 stride 2 with no pads: the pool becomes
    /// the conv's `pool` attribute, so the Winograd kernel can take each 2×2 output tile's maximum
    /// instead of writing the full-size output for a separate pass to read back (LeNet-style
    /// CNNs such as digits-cnn). Runs after the activation fusion: the activation comes first.
    static func fuseConvMaxPool(_ g: inout Graph) -> Int {
        fuseIntoConv(&g) { conv, reader, g in
            guard conv.attributes["pool"] == nil, conv.inputs.count > 1, let w = conv.inputs[1],
                  (g.constant(w)?.shape.count ?? g.values[w].shape?.count) == 4, isPlainMaxPool2x2(reader) else { return nil }
            return ["pool": .string("MaxPool")]
        }
    }

    /// MaxPool with a 2×2 window, stride 2, no padding or dilation, floor sizes, one output.
    static func isPlainMaxPool2x2(_ n: Node) -> Bool {
        let a = n.attributes
        return n.op == .maxPool && a.ints("kernel_shape") == [2, 2] && a.ints("strides") == [2, 2]
            && (a.ints("pads") ?? [0, 0, 0, 0]) == [0, 0, 0, 0] && (a.ints("dilations") ?? [1, 1]) == [1, 1]
            && (a.int("ceil_mode") ?? 0) == 0 && (a.int("storage_order") ?? 0) == 0
            && ["NOTSET", "VALID"].contains(a.string("auto_pad") ?? "NOTSET")
            && n.outputs.dropFirst().allSatisfy { $0 == nil }
    }

    /// The attributes a fused node carries for an activation node, or nil if its parameters are not constants.
    static func activationAttributes(_ n: Node, _ g: Graph) -> [String: Attribute]? {
        switch n.op {
        case .relu, .sigmoid, .tanh: return ["activation": .string(n.op.rawValue)]
        case .gelu:
            guard (n.attributes.string("approximate") ?? "none") == "none" else { return nil }
            return ["activation": .string("Gelu")]
        case .leakyRelu: return ["activation": .string("LeakyRelu"), "alpha": .float(n.attributes.float("alpha") ?? 0.01)]
        case .clip:
            guard let x = n.inputs.first ?? nil, (g.values[x].dtype ?? .float32) == .float32 else { return nil }
            var lo = -Float.infinity, hi = Float.infinity
            if n.version < 11 { lo = n.attributes.float("min") ?? lo; hi = n.attributes.float("max") ?? hi }
            else {
                if n.inputs.count > 1, let v = n.inputs[1] { guard let s = g.scalar(v) else { return nil }; lo = s }
                if n.inputs.count > 2, let v = n.inputs[2] { guard let s = g.scalar(v) else { return nil }; hi = s }
            }
            return ["activation": .string("Clip"), "min": .float(lo), "max": .float(hi)]
        default: return nil
        }
    }
}
