import PetrelKernels

/// Evaluates every node whose inputs are all constants (Constant nodes, shape arithmetic on
/// initializers, weight transposes) and replaces it by its result. A node whose result would be much
/// larger than its inputs (Expand, ConstantOfShape into big tensors) is left to run, so folding never
/// bloats the artifact.
enum ConstantFolding {
    static let growthLimitBytes = 1 << 20

    static func run(_ g: inout Graph, pool: ThreadPool) throws -> Int {
        let order = try g.topologicalOrder()
        var dead = Set<Int>()
        for i in order {
            let node = g.nodes[i]
            guard node.inputs.allSatisfy({ $0 == nil || g.constants[$0!] != nil }) else { continue }
            let ins = node.inputs.map { g.constant($0) }
            let ctx = NodeContext(node: node, types: ins.map { $0?.dtype }, shapes: ins.map { $0?.shape }, values: ins,
                                  threads: pool.threads)
            let impl = OpRegistry.impl(for: node.op)
            let inferred = try impl.infer(ctx)
            let inBytes = ins.compactMap { $0?.byteCount }.reduce(0, +)
            let outBytes = inferred.outputs.map { $0.1.product * $0.0.size }.reduce(0, +)
            if outBytes > Swift.max(growthLimitBytes, 2 * inBytes) { continue }
            let outs = try impl.evaluate(ctx, inferred, pool: pool)
            for (k, v) in node.outputs.enumerated() {
                guard let v else { continue }
                g.constants[v] = outs[k]
                g.values[v].dtype = outs[k].dtype
                g.values[v].shape = outs[k].shape.map { .fixed($0) }
            }
            dead.insert(i)
        }
        g.removeNodes(dead)
        return dead.count
    }
}

/// Removes nodes no graph output depends on, and constants no node reads. Expects nodes in
/// topological order (the compiler sorts them first).
enum DeadNodeElimination {
    static func run(_ g: inout Graph) -> Int {
        var needed = Set(g.outputs)
        var live = Set<Int>()
        for i in g.nodes.indices.reversed() {
            let n = g.nodes[i]
            if n.outputs.contains(where: { $0 != nil && needed.contains($0!) }) {
                live.insert(i)
                for v in n.inputs.compactMap({ $0 }) { needed.insert(v) }
            }
        }
        let dead = Set(g.nodes.indices).subtracting(live)
        g.removeNodes(dead)
        for id in Array(g.constants.keys) where !needed.contains(id) { g.constants[id] = nil }
        return dead.count
    }
}
