import Foundation
import PetrelKernels

/// A graph scheduled for one set of concrete input shapes: shape-only subgraphs already evaluated,
/// every runtime value placed in one arena by liveness, and each node reduced to a step whose
/// pointers are fixed. Running it copies inputs in, runs the steps, copies outputs out.
/// A plan serves one inference at a time (it owns its arena); `Executor` keeps one per concurrent run.
final class Plan {
    struct Slot { var dtype: DType; var shape: [Int]; var pointer: UnsafeMutableRawPointer }

    let steps: [Step]
    /// Op name per step ("Dense", "Conv+Relu"), for profiles.
    let stepLabels: [String]
    let inputs: [Slot?]      // nil: the model ignores this input
    let outputs: [Tensor]    // views (arena or constants); copied out after a run
    let arenaBytes: Int
    let foldedNodes: Int
    private let arena: TensorStorage
    private let keepAlive: KeepAlive

    /// Plans `graph` (in `order`) for inputs of `inputShapes` (graph input order); inputs in
    /// `inputValues` (by position) are planned as constants of those values.
    init(graph: Graph, order: [Int], inputShapes: [[Int]], inputValues: [Int: Tensor] = [:], pool: ThreadPool) throws {
        var types = [DType?](repeating: nil, count: graph.values.count)
        var shapes = [[Int]?](repeating: nil, count: graph.values.count)
        var known = [Tensor?](repeating: nil, count: graph.values.count)
        for (id, t) in graph.constants { types[id] = t.dtype; shapes[id] = t.shape; known[id] = t }
        var sources = [Set<Int>](repeating: [], count: graph.values.count)
        for (i, id) in graph.inputs.enumerated() {
            types[id] = graph.values[id].dtype
            shapes[id] = inputShapes[i]
            if let v = inputValues[i] { known[id] = v } else { sources[id] = [i] }
        }

        // 1. Shapes, and evaluation of everything computable now.
        struct Pending { var node: Int; var ctx: NodeContext; var inferred: Inferred }
        var pending: [Pending] = []
        var aliasOf = [Int: Int]()          // value → value whose bytes it shares
        var folded = 0
        let keep = KeepAlive()
        for n in order {
            let node = graph.nodes[n]
            let ctx = NodeContext(node: node,
                                  types: node.inputs.map { $0.flatMap { types[$0] } },
                                  shapes: node.inputs.map { $0.flatMap { shapes[$0] } },
                                  values: node.inputs.map { $0.flatMap { known[$0] } },
                                  sources: node.inputs.map { $0.map { sources[$0] } ?? [] },
                                  threads: pool.threads)
            let impl = OpRegistry.impl(for: node.op)
            let inferred = try impl.infer(ctx)
            guard node.outputs.count <= inferred.outputs.count else {
                throw ctx.fail("produces \(inferred.outputs.count) outputs, the model expects \(node.outputs.count)")
            }
            for (k, out) in node.outputs.enumerated() {
                guard let out, k < inferred.outputs.count else { continue }
                types[out] = inferred.outputs[k].0
                shapes[out] = inferred.outputs[k].1
            }
            let allKnown = impl.readsShapesOnly || zip(node.inputs, ctx.values).allSatisfy { $0.0 == nil || $0.1 != nil }
            if allKnown {
                if impl.aliasesInput {
                    known[node.outputs[0]!] = ctx.values[0]!.reshaped(inferred.outputs[0].1)
                } else {
                    let outs = try impl.evaluate(ctx, inferred, pool: pool)
                    for (k, out) in node.outputs.enumerated() where out != nil { known[out!] = outs[k] }
                }
                folded += 1
                if Plan.trace { for v in node.outputs.compactMap({ $0 }) { let t = known[v]!; print("fold \(node.name) \(node.op.rawValue) → \(t.dtype) \(t.shape) \((0..<min(t.count, 8)).map { t.element(at: $0) })") } }
                continue
            }
            let from = ctx.sources.reduce(into: Set<Int>()) { $0.formUnion($1) }
            for out in node.outputs.compactMap({ $0 }) { sources[out] = from }
            if impl.aliasesInput, let src = node.inputs[0], let out = node.outputs[0] {
                aliasOf[out] = aliasOf[src] ?? src
                continue
            }
            pending.append(Pending(node: n, ctx: ctx, inferred: inferred))
        }

        // 2. Lifetimes: graph inputs from the start, graph outputs to the end, workspaces one step.
        func root(_ v: Int) -> Int { aliasOf[v] ?? v }
        let end = pending.count
        var first: [Int: Int] = [:], last: [Int: Int] = [:]
        for id in graph.inputs where known[id] == nil { first[id] = -1; last[id] = -1 }
        for (s, p) in pending.enumerated() {
            let node = graph.nodes[p.node]
            for v in node.inputs.compactMap({ $0 }) where known[root(v)] == nil {
                last[root(v)] = Swift.max(last[root(v)] ?? s, s)
            }
            for v in node.outputs.compactMap({ $0 }) { first[v] = s; last[v] = Swift.max(last[v] ?? s, s) }
        }
        for v in graph.outputs where known[root(v)] == nil { last[root(v)] = end }
        var requests: [MemoryPlan.Request] = []
        var requestOf: [Int: Int] = [:]
        for v in first.keys.sorted() {
            guard let t = types[v], let sh = shapes[v] else { continue }
            requestOf[v] = requests.count
            requests.append(.init(bytes: sh.product * t.size, first: first[v]!, last: last[v]!))
        }
        var workspaceRequest: [Int: Int] = [:]
        for (s, p) in pending.enumerated() where p.inferred.workspaceBytes > 0 {
            workspaceRequest[s] = requests.count
            requests.append(.init(bytes: p.inferred.workspaceBytes, first: s, last: s))
        }
        let memory = MemoryPlan(requests)
        let arena = TensorStorage(byteCount: memory.arenaBytes)

        func view(_ v: Int) -> Tensor? {
            let r = root(v)
            guard let t = types[v], let sh = shapes[v] else { return nil }
            if let k = known[r] { return k.reshaped(sh) }
            guard let req = requestOf[r] else { return nil }
            return Tensor(dtype: t, shape: sh, storage: TensorStorage(viewing: arena.base + memory.offsets[req], byteCount: sh.product * t.size, owner: arena))
        }

        // 3. Steps with every pointer resolved.
        var steps: [Step] = []
        var labels: [String] = []
        for (s, p) in pending.enumerated() {
            let node = graph.nodes[p.node]
            let ins = node.inputs.map { $0.flatMap(view) }
            let outs: [Tensor] = p.inferred.outputs.enumerated().map { k, o in
                if k < node.outputs.count, let v = node.outputs[k], let t = view(v) { return t }
                // An output the model ignores still needs somewhere to go.
                return keep.tensor(Tensor(dtype: o.0, shape: o.1))
            }
            let ws = workspaceRequest[s].map { arena.base + memory.offsets[$0] }
            steps.append(try OpRegistry.impl(for: node.op).prepare(p.ctx, Bound(inputs: ins, outputs: outs, workspace: ws, pool: pool, keep: keep)))
            labels.append(node.op.rawValue + (node.attributes.string("activation").map { "+" + $0 } ?? "")
                          + (node.attributes.string("pool").map { "+" + $0 } ?? ""))
        }
        self.steps = steps
        stepLabels = labels
        self.inputs = graph.inputs.map { id in
            guard known[id] == nil, let req = requestOf[id] else { return nil }
            return Slot(dtype: types[id]!, shape: shapes[id]!, pointer: arena.base + memory.offsets[req])
        }
        outputs = try graph.outputs.map { v in
            guard let t = view(v) else { throw ModelError(.invalidGraph, "graph output '\(graph.values[v].name)' has no value") }
            return t
        }
        arenaBytes = memory.arenaBytes
        foldedNodes = folded
        self.arena = arena
        // Steps hold raw pointers: keep every buffer they point into alive as long as the plan.
        for case let t? in known { keep.tensor(t) }
        keepAlive = keep
    }

    /// PETREL_TRACE_PLAN=1 prints every value evaluated while planning (debugging shape subgraphs).
    static let trace = ProcessInfo.processInfo.environment["PETREL_TRACE_PLAN"] != nil

    /// Runs the plan (`inputs` already validated against its shapes and dtypes) and hands `read`
    /// the outputs in place: arena views, valid only during the call.
    func run<R>(_ inputs: [Tensor], profile: Profile? = nil, reading read: ([Tensor]) throws -> R) throws -> R {
        for (slot, t) in zip(self.inputs, inputs) {
            guard let slot else { continue }
            slot.pointer.copyMemory(from: t.raw, byteCount: t.byteCount)
        }
        if let profile {
            for (step, label) in zip(steps, stepLabels) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try step()
                profile.add(label, DispatchTime.now().uptimeNanoseconds - t0)
            }
        } else {
            for step in steps { try step() }
        }
        return try read(outputs)
    }
}
