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
    private var idle: [[Int]: [Plan]] = [:]
    /// Inputs (by position) whose values plans depend on; learnt on the first plan that needs them.
    private var valueKeyedInputs: Set<Int> = []
    private var mutex = pthread_mutex_t()

    public init(graph: Graph, threads: Int = ThreadPool.defaultThreadCount()) throws {
        self.graph = graph
        order = try graph.topologicalOrder()
        pool = ThreadPool.shared(threads: threads)
        pthread_mutex_init(&mutex, nil)
    }

    public var inputs: [TensorSignature] { graph.inputSignature }
    public var outputs: [TensorSignature] { graph.outputSignature }

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
        let shapes = try validate(inputs)
        let (plan, key) = try checkout(shapes, inputs)
        defer { checkin(plan, key) }
        return try plan.run(inputs, profile: profile)
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
        var symbols: [String: (Int, String)] = [:]
        for (sig, t) in zip(inputs, given) {
            guard t.dtype == sig.dtype else {
                throw ModelError(.invalidInput, "input '\(sig.name)' must be \(sig.dtype), got \(t.dtype)")
            }
            guard t.shape.count == sig.shape.count else {
                throw ModelError(.invalidInput, "input '\(sig.name)' must have rank \(sig.shape.count) (shape \(sig.shape)), got shape \(t.shape)")
            }
            for (axis, (d, n)) in zip(sig.shape, t.shape).enumerated() {
                switch d {
                case .fixed(let want) where want != n:
                    throw ModelError(.invalidInput, "input '\(sig.name)' dim \(axis) must be \(want) (shape \(sig.shape)), got shape \(t.shape)")
                case .symbol(let s):
                    if let (prev, other) = symbols[s], prev != n {
                        throw ModelError(.invalidInput, "dim '\(s)' is \(prev) in input '\(other)' but \(n) in input '\(sig.name)'")
                    }
                    symbols[s] = (n, sig.name)
                default: break
                }
            }
        }
        return given.map(\.shape)
    }

    /// Largest input whose values a plan may depend on (an `axes`, `shape` or `pads` operand given
    /// by the caller). Bigger inputs (token ids) never key plans: one plan per value would thrash.
    static let maxValueKeyedElements = 64

    /// Plan cache key: shapes, plus the values of the inputs plans depend on.
    private func key(_ shapes: [[Int]], _ inputs: [Tensor], _ keyed: Set<Int>) -> [Int] {
        shapes.flatMap { [$0.count] + $0 } + keyed.sorted().flatMap { [-1, $0] + inputs[$0].ints() }
    }

    private func checkout(_ shapes: [[Int]], _ inputs: [Tensor]) throws -> (Plan, [Int]) {
        pthread_mutex_lock(&mutex)
        var keyed = valueKeyedInputs
        pthread_mutex_unlock(&mutex)
        while true {
            let k = key(shapes, inputs, keyed)
            pthread_mutex_lock(&mutex)
            if let p = idle[k]?.popLast() { pthread_mutex_unlock(&mutex); return (p, k) }
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
        idle[key, default: []].append(plan)
        pthread_mutex_unlock(&mutex)
    }
}
