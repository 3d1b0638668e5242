import Foundation
import SwiftProtobuf

/// ONNX bytes → `Graph`. Checks everything that can be checked without shapes: the protobuf itself,
/// opsets, op support and versions, attribute types, undefined values and cycles. Anything Petrel
/// cannot run is refused here, at compile time, never when a request arrives.
public enum ONNXImporter {
    public static func importModel(_ bytes: Data) throws -> Graph {
        if bytes.isEmpty { throw ModelError(.malformed, "the model file is empty") }
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: bytes) } catch {
            throw ModelError(.malformed, "not a valid ONNX model: the protobuf does not decode (\(error)); the file may be truncated or not ONNX at all")
        }
        guard model.hasGraph else { throw ModelError(.malformed, "not a valid ONNX model: it has no graph") }
        var g = Graph()
        for o in model.opsetImport {
            g.opsets[o.domain == "ai.onnx" ? "" : o.domain] = Int(o.version)
        }
        if g.opsets[""] == nil {
            if model.opsetImport.isEmpty { g.opsets[""] = 1 } // IR < 3 models carry no opset_import
            else if model.graph.node.contains(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }) {
                throw ModelError(.malformed, "the model uses ai.onnx ops but does not import the ai.onnx opset")
            }
        }
        let localFunctions = Set(model.functions.map { "\($0.domain)::\($0.name)" })
        try importGraph(model.graph, into: &g, localFunctions: localFunctions)
        _ = try g.topologicalOrder()
        return g
    }

    static func importGraph(_ gp: Onnx_GraphProto, into g: inout Graph, localFunctions: Set<String>) throws {
        var ids: [String: Int] = [:]
        func define(_ name: String, dtype: DType? = nil, shape: [Dim]? = nil) throws -> Int {
            if ids[name] != nil { throw ModelError(.invalidGraph, "value '\(name)' is defined twice") }
            let id = g.addValue(name, dtype: dtype, shape: shape)
            ids[name] = id
            return id
        }
        if !gp.sparseInitializer.isEmpty {
            throw ModelError(.unsupported, "sparse initializers are not supported ('\(gp.sparseInitializer[0].values.name)')")
        }
        for t in gp.initializer {
            let tensor = try Tensor(proto: t, what: "initializer")
            let id = try define(t.name, dtype: tensor.dtype, shape: tensor.shape.map { .fixed($0) })
            g.constants[id] = tensor
        }
        var unknown = 0
        for vi in gp.input where ids[vi.name] == nil {
            let (dtype, shape) = try tensorType(vi, &unknown)
            g.inputs.append(try define(vi.name, dtype: dtype, shape: shape))
        }
        for (index, np) in gp.node.enumerated() {
            let name = np.name.isEmpty ? "#\(index) \(np.opType)" : np.name
            let domain = np.domain == "ai.onnx" ? "" : np.domain
            let opset = g.opsets[domain] ?? 0
            if localFunctions.contains("\(np.domain)::\(np.opType)") {
                throw ModelError.unsupportedOp(np.opType, domain: domain, opset: opset, "model-local functions are not supported")
            }
            guard domain.isEmpty, let op = Op(rawValue: np.opType), !op.isPetrelOp else {
                throw ModelError.unsupportedOp(np.opType, domain: domain, opset: opset)
            }
            guard let version = op.version(atOpset: opset) else {
                throw ModelError.unsupportedOp(np.opType, domain: domain, opset: opset,
                    opset > Op.maxOpset ? "Petrel knows opsets up to \(Op.maxOpset)" : "Petrel runs this op from opset \(op.oldestSupportedVersion)")
            }
            var attrs: [String: Attribute] = [:]
            for a in np.attribute { attrs[a.name] = try attribute(a, op: np.opType, node: name) }
            let inputs: [Int?] = try np.input.map { n in
                if n.isEmpty { return nil }
                guard let id = ids[n] else {
                    // Produced later in the file (ONNX requires topological order, but be lenient):
                    // define it now; a value that is never produced fails the topological sort.
                    return try define(n)
                }
                return id
            }
            let outputs: [Int?] = try np.output.map { n in
                if n.isEmpty { return nil }
                if let id = ids[n] {
                    if g.inputs.contains(id) || g.constants[id] != nil || g.nodes.contains(where: { $0.outputs.contains(id) }) {
                        throw ModelError(.invalidGraph, "node '\(name)' writes '\(n)', which is already defined")
                    }
                    return id
                }
                return try define(n)
            }
            let node = Node(op: op, version: version, name: name, inputs: inputs, outputs: outputs, attributes: attrs)
            try OpRegistry.impl(for: op).validate(node)
            g.nodes.append(node)
        }
        for vi in gp.output {
            guard let id = ids[vi.name] else {
                throw ModelError(.invalidGraph, "graph output '\(vi.name)' is never produced")
            }
            if g.values[id].dtype == nil || g.values[id].shape == nil, vi.type.tensorType.elemType != 0 {
                let (dtype, shape) = try tensorType(vi, &unknown)
                g.values[id].dtype = g.values[id].dtype ?? dtype
                g.values[id].shape = g.values[id].shape ?? shape
            }
            g.outputs.append(id)
        }
        if g.outputs.isEmpty { throw ModelError(.invalidGraph, "the graph has no outputs") }
    }

    static func tensorType(_ vi: Onnx_ValueInfoProto, _ unknown: inout Int) throws -> (DType, [Dim]) {
        guard case .tensorType(let t)? = vi.type.value else {
            throw ModelError(.unsupported, "value '\(vi.name)' is not a tensor (sequences, maps and optionals are not supported)")
        }
        guard let dtype = DType(rawValue: Int(t.elemType)) else {
            throw ModelError(.unsupported, "value '\(vi.name)' has element type \(DType.onnxName(Int(t.elemType))), which Petrel does not support")
        }
        let shape: [Dim] = t.shape.dim.map { d in
            switch d.value {
            case .dimValue(let v)?: return .fixed(Int(v))
            case .dimParam(let s)? where !s.isEmpty: return .symbol(s)
            default: unknown += 1; return .symbol("unk__\(unknown)")
            }
        }
        return (dtype, shape)
    }

    static func attribute(_ a: Onnx_AttributeProto, op: String, node: String) throws -> Attribute {
        if !a.refAttrName.isEmpty {
            throw ModelError(.unsupported, "node '\(node)' (\(op)): attribute '\(a.name)' refers to a function attribute")
        }
        var type = a.type
        if type == .undefined { // IR < 3 files leave the discriminator unset
            if a.hasF { type = .float } else if a.hasI { type = .int } else if a.hasS { type = .string }
            else if a.hasT { type = .tensor } else if !a.floats.isEmpty { type = .floats }
            else if !a.ints.isEmpty { type = .ints } else if !a.strings.isEmpty { type = .strings }
        }
        switch type {
        case .float: return .float(a.f)
        case .int: return .int(Int(a.i))
        case .string: return .string(String(decoding: a.s, as: UTF8.self))
        case .floats: return .floats(a.floats)
        case .ints: return .ints(a.ints.map { Int($0) })
        case .strings: return .strings(a.strings.map { String(decoding: $0, as: UTF8.self) })
        case .tensor: return .tensor(try Tensor(proto: a.t, what: "attribute '\(a.name)' of node '\(node)'"))
        default:
            throw ModelError(.unsupported, "node '\(node)' (\(op)): attribute '\(a.name)' has type \(type), which Petrel does not support")
        }
    }
}
