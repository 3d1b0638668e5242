/// One dimension of a declared shape: a number, or a name the caller fixes per request
/// (`batch`, `sequence`). Unnamed unknown dims get a unique generated name.
public enum Dim: Hashable, Sendable, CustomStringConvertible {
    case fixed(Int)
    case symbol(String)
    public var description: String {
        switch self { case .fixed(let n): "\(n)"; case .symbol(let s): s }
    }
    public var value: Int? { if case .fixed(let n) = self { return n } else { return nil } }
}

/// A value (edge) of the graph: a model input, a constant, or a node output.
public struct ValueInfo: Sendable {
    public var name: String
    public var dtype: DType?
    public var shape: [Dim]?
}

/// A graph input or output as callers see it.
public struct TensorSignature: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Dim]
}

public enum Attribute: Sendable, Equatable {
    case int(Int), float(Float), string(String)
    case ints([Int]), floats([Float]), strings([String])
    case tensor(Tensor)

    public static func == (a: Attribute, b: Attribute) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): x == y
        case (.float(let x), .float(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.ints(let x), .ints(let y)): x == y
        case (.floats(let x), .floats(let y)): x == y
        case (.strings(let x), .strings(let y)): x == y
        case (.tensor(let x), .tensor(let y)): x.storage === y.storage
        default: false
        }
    }
}

public struct Node: Sendable {
    public var op: Op
    /// The op's version that applies: the newest ONNX version of the op not above the model's opset.
    public var version: Int
    public var name: String
    /// Value ids; nil for an omitted optional input (ONNX's empty name).
    public var inputs: [Int?]
    public var outputs: [Int?]
    public var attributes: [String: Attribute]
}

/// The graph the passes transform and the planner schedules. Values are referred to by index.
public struct Graph: Sendable {
    public var values: [ValueInfo] = []
    public var nodes: [Node] = []
    public var inputs: [Int] = []
    public var outputs: [Int] = []
    public var constants: [Int: Tensor] = [:]
    /// The model's opset per domain ("" = ai.onnx).
    public var opsets: [String: Int] = [:]

    public mutating func addValue(_ name: String, dtype: DType? = nil, shape: [Dim]? = nil) -> Int {
        values.append(ValueInfo(name: name, dtype: dtype, shape: shape))
        return values.count - 1
    }

    public func signature(of id: Int) -> TensorSignature {
        TensorSignature(name: values[id].name, dtype: values[id].dtype ?? .float32, shape: values[id].shape ?? [])
    }

    public var inputSignature: [TensorSignature] { inputs.map(signature) }
    public var outputSignature: [TensorSignature] { outputs.map(signature) }

    /// Op counts for reports ("MatMul" → 48).
    public var opCounts: [String: Int] {
        var c: [String: Int] = [:]
        for n in nodes { c[n.op.rawValue, default: 0] += 1 }
        return c
    }

    /// Nodes in an order where every input is produced before use; throws on a cycle or a value
    /// consumed but never produced.
    public func topologicalOrder() throws -> [Int] {
        var producer: [Int: Int] = [:]
        for (i, n) in nodes.enumerated() {
            for o in n.outputs.compactMap({ $0 }) {
                if producer[o] != nil { throw ModelError(.invalidGraph, "value '\(values[o].name)' is produced by two nodes") }
                producer[o] = i
            }
        }
        let available = Set(inputs).union(constants.keys)
        var state = [UInt8](repeating: 0, count: nodes.count) // 0 new, 1 on stack, 2 done
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        for root in nodes.indices where state[root] == 0 {
            var stack: [(node: Int, next: Int)] = [(root, 0)]
            state[root] = 1
            while let top = stack.last {
                let ins = nodes[top.node].inputs
                if top.next < ins.count {
                    stack[stack.count - 1].next += 1
                    guard let v = ins[top.next] else { continue }
                    if let p = producer[v] {
                        if state[p] == 1 {
                            throw ModelError(.invalidGraph, "the graph has a cycle through value '\(values[v].name)' (node '\(nodes[p].name)', \(nodes[p].op.rawValue))")
                        }
                        if state[p] == 0 { state[p] = 1; stack.append((p, 0)) }
                    } else if !available.contains(v) {
                        throw ModelError(.invalidGraph, "node '\(nodes[top.node].name)' (\(nodes[top.node].op.rawValue)) reads '\(values[v].name)', which no node, input or initializer defines")
                    }
                } else {
                    state[top.node] = 2
                    order.append(top.node)
                    stack.removeLast()
                }
            }
        }
        return order
    }
}

extension Dictionary where Key == String, Value == Attribute {
    func int(_ k: String) -> Int? { if case .int(let v)? = self[k] { return v }; return nil }
    func float(_ k: String) -> Float? {
        switch self[k] { case .float(let v)?: return v; case .int(let v)?: return Float(v); default: return nil }
    }
    func string(_ k: String) -> String? { if case .string(let v)? = self[k] { return v }; return nil }
    func ints(_ k: String) -> [Int]? { if case .ints(let v)? = self[k] { return v }; return nil }
    func floats(_ k: String) -> [Float]? { if case .floats(let v)? = self[k] { return v }; return nil }
    func tensor(_ k: String) -> Tensor? { if case .tensor(let v)? = self[k] { return v }; return nil }
}
