import PetrelKernels

/// What shape inference and step preparation see of one node at plan time: concrete input dtypes
/// and shapes, and input values where they are known (constants, or computed while planning).
struct NodeContext {
    let node: Node
    let types: [DType?]
    let shapes: [[Int]?]
    let values: [Tensor?]
    /// Per input: the graph inputs (by position) a runtime value derives from, so a shape-like
    /// operand fed by a small model input can be planned per value of that input.
    var sources: [Set<Int>] = []
    /// Threads the step will run with (workspace sizes may depend on it).
    var threads = 1

    var attrs: [String: Attribute] { node.attributes }
    var version: Int { node.version }
    var inputCount: Int { node.inputs.count }

    func has(_ i: Int) -> Bool { i < node.inputs.count && node.inputs[i] != nil }

    func shape(_ i: Int) throws -> [Int] {
        guard i < shapes.count, let s = shapes[i] else { throw fail("input \(i) is missing") }
        return s
    }
    func type(_ i: Int) throws -> DType {
        guard i < types.count, let t = types[i] else { throw fail("input \(i) is missing") }
        return t
    }
    /// An input whose value must be known when planning (shape-like operands: Reshape's shape, Slice's
    /// starts, ...). Petrel plans per input shape, so values computed from shapes count as known.
    func value(_ i: Int, _ what: String) throws -> Tensor {
        guard has(i) else { throw fail("input \(i) (\(what)) is missing") }
        guard let v = values[i] else {
            throw NeedsInputValues(inputs: i < sources.count ? sources[i] : [], error: ModelError(.unsupported,
                "node '\(node.name)' (\(node.op.rawValue)): its \(what) input depends on tensor data at run time; Petrel needs it to be a constant, computable from input shapes, or a small integer model input"))
        }
        return v
    }
    func optionalValue(_ i: Int, _ what: String) throws -> Tensor? { has(i) ? try value(i, what) : nil }

    func fail(_ why: String) -> ModelError {
        ModelError(.invalidGraph, "node '\(node.name)' (\(node.op.rawValue)): \(why)")
    }
    func unsupported(_ why: String) -> ModelError {
        ModelError(.unsupported, "node '\(node.name)' (\(node.op.rawValue), opset version \(node.version)): \(why)")
    }

    /// Normalises an axis in [-rank, rank) to [0, rank).
    func axis(_ a: Int, rank: Int, _ what: String = "axis") throws -> Int {
        guard a >= -rank, a < Swift.max(rank, 1) else { throw fail("\(what) \(a) is out of range for rank \(rank)") }
        return a < 0 ? a + rank : a
    }
}

/// Planning needs the values of these graph inputs (an `axes` or `shape` operand fed by the caller).
/// The executor then plans per value of those inputs when they are small integer tensors, and
/// reports `error` otherwise.
struct NeedsInputValues: Error {
    let inputs: Set<Int>
    let error: ModelError
}

/// Output types and shapes of a node for one concrete plan, plus scratch memory its step needs.
struct Inferred {
    var outputs: [(DType, [Int])]
    var workspaceBytes = 0
    init(_ outputs: [(DType, [Int])], workspaceBytes: Int = 0) { self.outputs = outputs; self.workspaceBytes = workspaceBytes }
    init(_ dtype: DType, _ shape: [Int]) { outputs = [(dtype, shape)] }
}

/// Memory a prepared step reads and writes. Tensors here are views (arena, constants, inputs).
struct Bound {
    let inputs: [Tensor?]
    let outputs: [Tensor]
    let workspace: UnsafeMutableRawPointer?
    let pool: ThreadPool
    /// Owner of buffers a `prepare` makes for its step (a default bound, a converted constant): steps
    /// hold raw pointers, so such buffers must live as long as the plan, which owns this.
    var keep = KeepAlive()

    func input(_ i: Int) -> Tensor { inputs[i]! }
}

final class KeepAlive {
    private var storages: [TensorStorage] = []
    /// Returns `t`, now kept alive for the lifetime of the plan.
    @discardableResult func tensor(_ t: Tensor) -> Tensor { storages.append(t.storage); return t }
}

/// One runnable step, all pointers resolved at plan time; throws only on data-dependent errors
/// (an index out of range) so a bad request never crashes the server.
typealias Step = () throws -> Void

/// How Petrel runs one op. Each op file returns one of these from `OpRegistry.impl(for:)`.
struct OpImpl {
    /// Compile-time checks of attributes and variants; throw `unsupported` for what the op cannot run.
    var validate: (Node) throws -> Void = { _ in }
    var infer: (NodeContext) throws -> Inferred
    var prepare: (NodeContext, Bound) throws -> Step
    /// Output 0 is input 0's bytes under another shape (Reshape, Flatten, ...): no copy, no step.
    var aliasesInput = false
    /// The outputs depend on input shapes only (Shape, Size): evaluated while planning.
    var readsShapesOnly = false
}

extension OpImpl {
    /// Runs the node now, on inputs known while compiling or planning, into new tensors
    /// (constant folding and plan-time evaluation of shape subgraphs share this).
    func evaluate(_ ctx: NodeContext, _ inferred: Inferred, pool: ThreadPool) throws -> [Tensor] {
        let outs = inferred.outputs.map { Tensor(dtype: $0.0, shape: $0.1) }
        let ws = inferred.workspaceBytes > 0 ? TensorStorage(byteCount: inferred.workspaceBytes) : nil
        let keep = KeepAlive()
        try prepare(ctx, Bound(inputs: ctx.values, outputs: outs, workspace: ws?.base, pool: pool, keep: keep))()
        withExtendedLifetime((keep, ws)) {}
        return outs
    }
}

enum OpRegistry {
    /// Ops and the op versions Petrel runs, for `petrel ops`.
    static var supported: [(op: String, versions: [Int])] {
        Op.allCases.filter { !$0.isPetrelOp }.map { op in
            (op.rawValue, op.onnxVersions.filter { $0 >= op.oldestSupportedVersion })
        }
    }
}
