import Foundation
@testable import PetrelProtocol

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}
func f32(_ values: [Float]) -> [UInt8] { le(values.map(\.bitPattern)) }
func f64(_ values: [Double]) -> [UInt8] { le(values.map(\.bitPattern)) }
func floats(_ b: [UInt8]) -> [Float] {
    stride(from: 0, to: b.count, by: 4).map { i in
        Float(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
    }
}
func bytesElements(_ elements: [String]) -> [UInt8] {
    elements.flatMap { le([UInt32($0.utf8.count)]) + Array($0.utf8) }
}

func decode(_ json: String, header: Int? = nil, tail: [UInt8] = []) throws(ProtocolError) -> InferRequest {
    try OIPRest.decodeInferRequest(body: bytes(json) + tail, inferenceHeaderLength: header, modelName: "m")
}

/// The message of the error `body` throws, or nil.
func errorMessage(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch let e as ProtocolError { return e.message } catch { return "unexpected \(error)" }
}

/// Decodes `[value]` as the data of a one-element tensor of `dt` and returns its raw bytes.
func decodeElement(_ dt: InferDataType, _ value: String) throws(ProtocolError) -> [UInt8] {
    try decode("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"\(dt.rawValue)\",\"shape\":[1],\"data\":[\(value)]}]}").inputs[0].data
}

/// Parses one FP32 JSON literal through the REST decoder.
func parseFloat(_ s: String) throws(ProtocolError) -> Float { floats(try decodeElement(.fp32, s))[0] }
