import PetrelKernels
#if canImport(Glibc)
import Glibc
#endif

/// Runs a compiled graph. Plans are made per concrete input shapes on first use and cached, so a
/// model with symbolic `batch` and `sequence` dims pays planning once per shape it sees. Safe to call
/// from several threads: each concurrent run takes its own plan (and arena). Executors share the
/// process-wide pool of their width; a run that finds it busy runs its loops on its own thread.
public final class Executor: @unchecked Sendable {
    public let graph: Graph
    public let pool: ThreadPool
    let order: [Int]
    /// Idle plans per plan key: the key's slot in `idleSlots`. Not a dictionary of arrays:
    /// popping from an array inside a dictionary goes through the dictionary's modify coroutine,
    /// which heap-allocates its frame on every request.
    private var idle: [[Int]: Int] = [:]
    private var idleSlots: [[Plan]] = []
    /// Inputs (by position) whose values plans depend on; learnt on the first plan that needs them.
    private var valueKeyedInputs: Set<Int> = []
    private var mutex = pthread_mutex_t()

    /// Kept, not derived per call: a tiny model's run is a few microseconds, and rebuilding the
    /// signature arrays cost a tenth of that.
    public let inputs: [TensorSignature]
    public let outputs: [TensorSignature]
    /// Per input, per axis: the index of its symbolic dim in `symbols`, or -1 (fixed).
    private let symbolSlots: [[Int]]
    private let symbols: [String]

    public init(graph: Graph, threads: Int = ThreadPool.defaultThreadCount()) throws {
        self.graph = graph
        inputs = graph.inputSignature
        outputs = graph.outputSignature
        var symbols: [String] = []
        symbolSlots = inputs.map { sig in
            sig.shape.map { d in
                guard case .symbol(let s) = d else { return -1 }
                if let i = symbols.firstIndex(of: s) { return i }
                symbols.append(s)
                return symbols.count - 1
            }
        }
        self.symbols = symbols
        order = try graph.topologicalOrder()
        pool = ThreadPool.shared(threads: threads)
        pthread_mutex_init(&mutex, nil)
    }

    /// Runs with inputs by name; every model input must be present.
    public func run(_ named: [String: Tensor]) throws -> [String: Tensor] {
        for name in named.keys where !inputs.contains(where: { $0.name == name }) {
            throw ModelError(.invalidInput, "unknown input '\(name)'; the model's inputs are \(inputs.map(\.name).joined(separator: ", "))")
        }
        let ordered = try inputs.map { sig in
            guard let t = named[sig.name] else { throw ModelError(.invalidInput, "missing input '\(sig.name)'") }
            return t
        }
        let outs = try run(ordered)
        return Dictionary(uniqueKeysWithValues: zip(outputs.map(\.name), outs))
    }

    /// Runs with inputs in the model's input order.
    /// `profile` accumulates time per op across runs (`petrel bench model --profile`).
    public func run(_ inputs: [Tensor], profile: Profile? = nil) throws -> [Tensor] {
        try run(inputs, profile: profile) { $0.map { $0.copy() } }
    }

    /// Runs and hands `read` the outputs where the run left them, without copying them out: the
    /// tensors are views into this run's arena, valid only until `read` returns. A server that
    /// encodes the outputs at once saves an allocation and a copy per output.
    public func run<R>(_ inputs: [Tensor], profile: Profile? = nil, reading read: ([Tensor]) throws -> R) throws -> R {
        let shapes = try validate(inputs)
        let (plan, key) = try checkout(shapes, inputs)
        defer { checkin(plan, key) }
        return try plan.run(inputs, profile: profile, reading: read)
    }

    /// Facts about the plan for these input shapes (planning it if needed), for reports; nil when
    /// the plan also depends on input values (it is made per request instead).
    public func planSummary(for shapes: [[Int]]) throws -> (arenaBytes: Int, steps: Int, foldedNodes: Int)? {
        do {
            let plan = try Plan(graph: graph, order: order, inputShapes: shapes, pool: pool)
            return (plan.arenaBytes, plan.steps.count, plan.foldedNodes)
        } catch is NeedsInputValues { return nil }
    }

    /// Checks inputs against the signature: count, dtype, rank, fixed dims, and one value per
    /// symbolic dim name across inputs (`batch` must agree between input_ids and attention_mask).
    func validate(_ given: [Tensor]) throws -> [[Int]] {
        guard given.count == inputs.count else {
            throw ModelError(.invalidInput, "the model takes \(inputs.count) inputs (\(inputs.map(\.name).joined(separator: ", "))), got \(given.count)")
        }
        // Per symbol: its value and the input that fixed it. Stack storage: this runs per request.
        return try withUnsafeTemporaryAllocation(of: (value: Int, input: Int).self, capacity: max(symbols.count, 1)) { seen in
            for i in 0..<symbols.count { seen[i] = (-1, -1) }
            var shapes: [[Int]] = []
            shapes.reserveCapacity(given.count)
            for (i, (sig, t)) in zip(inputs, given).enumerated() {
                guard t.dtype == sig.dtype else {
                    throw ModelError(.invalidInput, "input '\(sig.name)' must be \(sig.dtype), got \(t.dtype)")
                }
                guard t.shape.count == sig.shape.count else {
                    throw ModelError(.invalidInput, "input '\(sig.name)' must have rank \(sig.shape.count) (shape \(sig.shape)), got shape \(t.shape)")
                }
                for (axis, (d, n)) in zip(sig.shape, t.shape).enumerated() {
                    let slot = symbolSlots[i][axis]
                    if slot >= 0 {
                        let (prev, other) = seen[slot]
                        if other >= 0, prev != n {
                            throw ModelError(.invalidInput, "dim '\(symbols[slot])' is \(prev) in input '\(inputs[other].name)' but \(n) in input '\(sig.name)'")
                        }
                        seen[slot] = (n, i)
                    } else if case .fixed(let want) = d, want != n {
                        throw ModelError(.invalidInput, "input '\(sig.name)' dim \(axis) must be \(want) (shape \(sig.shape)), got shape \(t.shape)")
                    }
                }
                shapes.append(t.shape)
            }
            return shapes
        }
    }

    /// Largest input whose values a plan may depend on (an `axes`, `shape` or `pads` operand given
    /// by the caller). Bigger inputs (token ids) never key plans: one plan per value would thrash.
    static let maxValueKeyedElements = 64

    /// Plan cache key: shapes, plus the values of the inputs plans depend on. Built into one
    /// array (it is made per request).
    private func key(_ shapes: [[Int]], _ inputs: [Tensor], _ keyed: Set<Int>) -> [Int] {
        var k: [Int] = []
        k.reserveCapacity(shapes.reduce(0) { $0 + 1 + $1.count })
        for s in shapes { k.append(s.count); k.append(contentsOf: s) }
        if !keyed.isEmpty {
            for i in keyed.sorted() { k.append(-1); k.append(i); k.append(contentsOf: inputs[i].ints()) }
        }
        return k
    }

    private func checkout(_ shapes: [[Int]], _ inputs: [Tensor]) throws -> (Plan, [Int]) {
        pthread_mutex_lock(&mutex)
        var keyed = valueKeyedInputs
        pthread_mutex_unlock(&mutex)
        while true {
            let k = key(shapes, inputs, keyed)
            pthread_mutex_lock(&mutex)
            if let slot = idle[k], let p = idleSlots[slot].popLast() { pthread_mutex_unlock(&mutex); return (p, k) }
            pthread_mutex_unlock(&mutex)
            do {
                let values = Dictionary(uniqueKeysWithValues: keyed.map { ($0, inputs[$0].copy()) })
                return (try Plan(graph: graph, order: order, inputShapes: shapes, inputValues: values, pool: pool), k)
            } catch let need as NeedsInputValues {
                let usable = !need.inputs.isEmpty && need.inputs.allSatisfy {
                    !inputs[$0].dtype.isFloat && inputs[$0].count <= Executor.maxValueKeyedElements
                }
                guard usable, !need.inputs.isSubset(of: keyed) else { throw need.error }
                keyed.formUnion(need.inputs)
                pthread_mutex_lock(&mutex)
                valueKeyedInputs.formUnion(need.inputs)
                pthread_mutex_unlock(&mutex)
            }
        }
    }

    private func checkin(_ plan: Plan, _ key: [Int]) {
        pthread_mutex_lock(&mutex)
        if let slot = idle[key] {
            idleSlots[slot].append(plan)
        } else {
            idle[key] = idleSlots.count
            idleSlots.append([plan])
        }
        pthread_mutex_unlock(&mutex)
    }
}
