import Foundation
import SwiftProtobuf

extension OIPGrpc {
    /// Decodes a serialized ModelInferRequest. Inputs carry either typed `contents` or one
    /// `raw_input_contents` entry each (never both kinds in one request); either way the data must
    /// match the shape exactly.
    public static func decodeInferRequest(_ bytes: [UInt8]) throws(ProtocolError) -> InferRequest {
        try bytes.withUnsafeBufferPointer { (buf) throws(ProtocolError) in try decodeInferRequest(buf) }
    }

    /// As above, read in place (a transport's buffer); only the general path copies the bytes.
    public static func decodeInferRequest(_ bytes: UnsafeBufferPointer<UInt8>) throws(ProtocolError) -> InferRequest {
        if let s = scanInferRequest(bytes) {
            var request = InferRequest(id: s.id.isEmpty ? nil : s.id, modelName: s.modelName,
                                       modelVersion: s.modelVersion.isEmpty ? nil : s.modelVersion, inputs: [],
                                       outputs: s.outputs)
            try checkRawCount(s.raw.count, inputs: s.inputs.count)
            request.inputs.reserveCapacity(s.inputs.count)
            for (input, data) in zip(s.inputs, s.raw) {
                request.inputs.append(try inputTensor(input.name, input.datatype, input.shape) { _ in data })
            }
            return request
        }
        return try decodeInferRequestGeneral(Array(bytes))
    }

    /// Every valid ModelInferRequest, through SwiftProtobuf (parameters, typed contents), with
    /// its errors worded for the caller.
    static func decodeInferRequestGeneral(_ bytes: [UInt8]) throws(ProtocolError) -> InferRequest {
        let m = try decode(Inference_ModelInferRequest.self, bytes)
        var request = InferRequest(id: m.id.isEmpty ? nil : m.id, modelName: m.modelName,
                                   modelVersion: m.modelVersion.isEmpty ? nil : m.modelVersion, inputs: [])
        for (k, v) in m.parameters { request.parameters[k] = try parameterValue(v, "parameter '\(k)'") }
        let raw = !m.rawInputContents.isEmpty
        if raw {
            if let typed = m.inputs.first(where: { $0.hasContents }) {
                throw .invalidArgument("input '\(typed.name)': typed 'contents' cannot be mixed with raw_input_contents")
            }
            try checkRawCount(m.rawInputContents.count, inputs: m.inputs.count)
        }
        request.inputs.reserveCapacity(m.inputs.count)
        for (i, input) in m.inputs.enumerated() {
            if input.parameters["shared_memory_region"] != nil {
                throw .init(.unimplemented, "input '\(input.name)': shared memory (parameter 'shared_memory_region') is not supported")
            }
            request.inputs.append(try inputTensor(input.name, input.datatype, input.shape.map { Int($0) }) { datatype throws(ProtocolError) in
                raw ? [UInt8](m.rawInputContents[i]) : try typedData(input.contents, datatype, input.name)
            })
        }
        request.outputs = m.outputs.map { RequestedOutput(name: $0.name) }
        return request
    }

    private static func checkRawCount(_ raw: Int, inputs: Int) throws(ProtocolError) {
        guard raw == inputs else {
            throw .invalidArgument("raw_input_contents has \(raw) entries for \(inputs) inputs")
        }
    }

    /// One input, checked the same way on both decode paths: a known datatype, no negative
    /// dimension, and data that matches the shape exactly.
    private static func inputTensor(_ name: String, _ datatype: String, _ shape: [Int],
                                    data: (InferDataType) throws(ProtocolError) -> [UInt8]) throws(ProtocolError) -> InferTensor {
        guard let dt = InferDataType(rawValue: datatype) else {
            throw .invalidArgument("input '\(name)': unknown datatype '\(datatype)'")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw .invalidArgument("input '\(name)': shape \(shapeText(shape)) has a negative dimension")
        }
        let t = InferTensor(name: name, datatype: dt, shape: shape, data: try data(dt))
        try t.checkDataMatchesShape()
        return t
    }

    static func parameterValue(_ p: Inference_InferParameter, _ label: String) throws(ProtocolError) -> ParameterValue {
        switch p.parameterChoice {
        case .boolParam(let b): return .bool(b)
        case .int64Param(let i): return .int(i)
        case .stringParam(let s): return .string(s)
        case .doubleParam(let d): return .double(d)
        case .uint64Param(let u):
            guard let i = Int64(exactly: u) else { throw .invalidArgument("\(label): \(u) exceeds the int64 range") }
            return .int(i)
        case nil: throw .invalidArgument("\(label) has no value")
        }
    }

    /// Typed contents to raw little-endian bytes. Each datatype reads one field (INT8/16/32 share
    /// int_contents, UINT8/16/32 uint_contents) and values must fit the narrower types.
    static func typedData(_ c: Inference_InferTensorContents, _ dt: InferDataType, _ name: String) throws(ProtocolError) -> [UInt8] {
        let fields: [(String, Int)] = [
            ("bool_contents", c.boolContents.count), ("int_contents", c.intContents.count),
            ("int64_contents", c.int64Contents.count), ("uint_contents", c.uintContents.count),
            ("uint64_contents", c.uint64Contents.count), ("fp32_contents", c.fp32Contents.count),
            ("fp64_contents", c.fp64Contents.count), ("bytes_contents", c.bytesContents.count),
        ]
        let expected: String
        switch dt {
        case .bool: expected = "bool_contents"
        case .int8, .int16, .int32: expected = "int_contents"
        case .int64: expected = "int64_contents"
        case .uint8, .uint16, .uint32: expected = "uint_contents"
        case .uint64: expected = "uint64_contents"
        case .fp32: expected = "fp32_contents"
        case .fp64: expected = "fp64_contents"
        case .bytes: expected = "bytes_contents"
        case .fp16, .bf16:
            throw .invalidArgument("input '\(name)': \(dt.rawValue) has no typed contents field; send it in raw_input_contents")
        }
        if let other = fields.first(where: { $0.0 != expected && $0.1 > 0 }) {
            throw .invalidArgument("input '\(name)': datatype \(dt.rawValue) expects \(expected), got \(other.0)")
        }
        switch dt {
        case .bool: return c.boolContents.map { $0 ? 1 : 0 }
        case .int8: return try narrow(c.intContents, Int8.self, dt, name)
        case .int16: return try narrow(c.intContents, Int16.self, dt, name)
        case .int32: return littleEndianBytes(c.intContents)
        case .int64: return littleEndianBytes(c.int64Contents)
        case .uint8: return try narrow(c.uintContents, UInt8.self, dt, name)
        case .uint16: return try narrow(c.uintContents, UInt16.self, dt, name)
        case .uint32: return littleEndianBytes(c.uintContents)
        case .uint64: return littleEndianBytes(c.uint64Contents)
        case .fp32: return littleEndianBytes(c.fp32Contents.map { $0.bitPattern })
        case .fp64: return littleEndianBytes(c.fp64Contents.map { $0.bitPattern })
        case .bytes:
            var out: [UInt8] = []
            out.reserveCapacity(c.bytesContents.reduce(0) { $0 + 4 + $1.count })
            for d in c.bytesContents {
                withUnsafeBytes(of: UInt32(d.count).littleEndian) { out.append(contentsOf: $0) }
                out.append(contentsOf: d)
            }
            return out
        case .fp16, .bf16: return []
        }
    }

    private static func narrow<S: FixedWidthInteger, T: FixedWidthInteger>(
        _ values: [S], _: T.Type, _ dt: InferDataType, _ name: String) throws(ProtocolError) -> [UInt8]
    {
        var out = [UInt8]()
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for v in values {
            guard let n = T(exactly: v) else {
                throw .invalidArgument("input '\(name)': value \(v) is out of range for \(dt.rawValue) (\(T.min)...\(T.max))")
            }
            withUnsafeBytes(of: n.littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Host order is little-endian on every platform we build for; the #if keeps that honest.
    private static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        #if _endian(little)
        return values.withUnsafeBytes { Array($0) }
        #else
        return values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        #endif
    }

    /// Encodes a ModelInferResponse with `raw_output_contents`, what tritonclient's gRPC client reads.
    /// Only the requested outputs when the request names any. Written by hand into one array:
    /// SwiftProtobuf would copy each tensor into Data and then into the serialized bytes.
    /// `prefix` zero bytes precede the message (room for the gRPC frame header).
    public static func encodeInferResponse(_ response: InferResponse, request: InferRequest, prefix: Int = 0) throws(ProtocolError) -> [UInt8] {
        let selected = try request.selectOutputs(of: response)
        var total = 64 + response.modelName.utf8.count + (response.id?.utf8.count ?? 0)
        for o in selected {
            let t = o.tensor
            _ = try ElementView(t)
            total += ProtoWriter.fieldSize(5, length: outputTensorSize(t)) + ProtoWriter.fieldSize(6, length: t.data.count)
        }
        var w = ProtoWriter(capacity: total, prefix: prefix)
        w.field(1, response.modelName)
        w.field(2, response.modelVersion ?? "")
        w.field(3, response.id ?? "")
        for o in selected {
            let t = o.tensor
            w.lengthDelimitedTag(5, length: outputTensorSize(t))
            w.field(1, t.name)
            w.field(2, t.datatype.rawValue)
            if !t.shape.isEmpty {
                w.lengthDelimitedTag(3, length: packedSize(t.shape))
                for d in t.shape { w.varint(UInt64(bitPattern: Int64(d))) }
            }
        }
        for o in selected {
            let t = o.tensor
            // Repeated bytes: an empty entry must still be written to keep positions aligned.
            w.lengthDelimitedTag(6, length: t.data.count)
            w.bytes.append(contentsOf: t.data)
        }
        return w.bytes
    }

    private static func packedSize(_ shape: [Int]) -> Int {
        shape.reduce(0) { $0 + ProtoWriter.varintSize(UInt64(bitPattern: Int64($1))) }
    }

    private static func outputTensorSize(_ t: InferTensor) -> Int {
        var n = 0
        if !t.name.isEmpty { n += ProtoWriter.fieldSize(1, length: t.name.utf8.count) }
        n += ProtoWriter.fieldSize(2, length: t.datatype.rawValue.utf8.count)
        if !t.shape.isEmpty { n += ProtoWriter.fieldSize(3, length: packedSize(t.shape)) }
        return n
    }
}
