import Foundation
import SwiftProtobuf

/// The client half of ModelInfer (`petrel invoke --grpc`; the gateway's calls to workers later).
extension OIPGrpc {
    /// A ModelInferRequest carrying every input as `raw_input_contents`.
    public static func encodeInferRequest(_ r: InferRequest) -> [UInt8] {
        var m = Inference_ModelInferRequest()
        m.modelName = r.modelName
        m.modelVersion = r.modelVersion ?? ""
        m.id = r.id ?? ""
        for (k, v) in r.parameters { m.parameters[k] = parameter(v) }
        for t in r.inputs {
            var i = Inference_ModelInferRequest.InferInputTensor()
            i.name = t.name
            i.datatype = t.datatype.rawValue
            i.shape = t.shape.map(Int64.init)
            m.inputs.append(i)
            m.rawInputContents.append(Data(t.data))
        }
        for o in r.outputs {
            var x = Inference_ModelInferRequest.InferRequestedOutputTensor()
            x.name = o.name
            m.outputs.append(x)
        }
        // Serialising a message we built cannot fail (no required fields, no unknown types).
        return (try? m.serializedBytes()) ?? []
    }

    /// Decodes a ModelInferResponse whose outputs are raw or typed.
    public static func decodeInferResponse(_ bytes: [UInt8]) throws(ProtocolError) -> InferResponse {
        let m = try decode(Inference_ModelInferResponse.self, bytes)
        var outputs: [InferTensor] = []
        for (i, o) in m.outputs.enumerated() {
            guard let dt = InferDataType(rawValue: o.datatype) else {
                throw .invalidArgument("output '\(o.name)': unknown datatype '\(o.datatype)'")
            }
            let data: [UInt8]
            if i < m.rawOutputContents.count {
                data = [UInt8](m.rawOutputContents[i])
            } else {
                data = try typedData(o.contents, dt, o.name)
            }
            outputs.append(InferTensor(name: o.name, datatype: dt, shape: o.shape.map { Int($0) }, data: data))
        }
        return InferResponse(modelName: m.modelName, modelVersion: m.modelVersion.isEmpty ? nil : m.modelVersion,
                             id: m.id.isEmpty ? nil : m.id, outputs: outputs)
    }

    private static func parameter(_ v: ParameterValue) -> Inference_InferParameter {
        var p = Inference_InferParameter()
        switch v {
        case .bool(let b): p.boolParam = b
        case .int(let i): p.int64Param = i
        case .string(let s): p.stringParam = s
        case .double(let d): p.doubleParam = d
        }
        return p
    }
}
