import Foundation
import SwiftProtobuf

/// Largest tensor Petrel will materialise from a file: a dim "claiming terabytes" is refused before
/// any allocation.
let maxTensorBytes = 1 << 34

/// Element count of `dims`, refusing negative dims and products that overflow or exceed the cap.
func checkedElementCount(_ dims: [Int], dtype: DType, what: String) throws -> Int {
    var n = 1
    for d in dims {
        guard d >= 0 else { throw ModelError(.malformed, "\(what): negative dimension \(d) in shape \(dims)") }
        let (p, o) = n.multipliedReportingOverflow(by: d)
        guard !o, p <= maxTensorBytes / Swift.max(dtype.size, 1) else {
            throw ModelError(.malformed, "\(what): shape \(dims) of \(dtype) needs more than \(maxTensorBytes >> 30) GiB")
        }
        n = p
    }
    return n
}

extension Tensor {
    /// Decodes a serialized `onnx.TensorProto` (the `input_0.pb` files of ONNX test cases).
    public init(tensorProtoBytes bytes: Data, what: String = "tensor") throws {
        let proto: Onnx_TensorProto
        do { proto = try Onnx_TensorProto(serializedBytes: bytes) } catch {
            throw ModelError(.malformed, "\(what): not a valid TensorProto (\(error))")
        }
        self = try Tensor(proto: proto, what: what)
    }

    init(proto p: Onnx_TensorProto, what: String) throws {
        let name = p.name.isEmpty ? what : "\(what) '\(p.name)'"
        if p.dataLocation == .external {
            throw ModelError(.unsupported, "\(name) keeps its data in an external file; save the model with its weights inside (onnx.save(model, path, save_as_external_data=False))")
        }
        guard let dtype = DType(rawValue: Int(p.dataType)) else {
            throw ModelError(.unsupported, "\(name) has element type \(DType.onnxName(Int(p.dataType))), which Petrel does not support")
        }
        let dims = p.dims.map { Int($0) }
        let count = try checkedElementCount(dims, dtype: dtype, what: name)
        self.init(dtype: dtype, shape: dims)
        let dst = raw
        func mismatch(_ have: Int, _ field: String) -> ModelError {
            ModelError(.malformed, "\(name): shape \(dims) needs \(count) elements but \(field) holds \(have)")
        }
        if p.hasRawData {
            guard p.rawData.count == count * dtype.size else {
                throw ModelError(.malformed, "\(name): shape \(dims) of \(dtype) needs \(count * dtype.size) bytes but raw_data holds \(p.rawData.count)")
            }
            p.rawData.withUnsafeBytes { if $0.count > 0 { dst.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            return
        }
        switch dtype {
        case .float32:
            guard p.floatData.count == count else { throw mismatch(p.floatData.count, "float_data") }
            p.floatData.withUnsafeBytes { if $0.count > 0 { dst.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        case .float64:
            guard p.doubleData.count == count else { throw mismatch(p.doubleData.count, "double_data") }
            p.doubleData.withUnsafeBytes { if $0.count > 0 { dst.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        case .int64:
            guard p.int64Data.count == count else { throw mismatch(p.int64Data.count, "int64_data") }
            p.int64Data.withUnsafeBytes { if $0.count > 0 { dst.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        case .uint32, .uint64:
            guard p.uint64Data.count == count else { throw mismatch(p.uint64Data.count, "uint64_data") }
            for (i, v) in p.uint64Data.enumerated() {
                if dtype == .uint32 { dst.storeBytes(of: UInt32(truncatingIfNeeded: v), toByteOffset: i * 4, as: UInt32.self) }
                else { dst.storeBytes(of: v, toByteOffset: i * 8, as: UInt64.self) }
            }
        case .int32, .int16, .int8, .uint16, .uint8, .bool, .float16:
            // ONNX stores these widened to int32; float16 as its 16-bit pattern.
            guard p.int32Data.count == count else { throw mismatch(p.int32Data.count, "int32_data") }
            for (i, v) in p.int32Data.enumerated() {
                switch dtype.size {
                case 1: dst.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: i, as: UInt8.self)
                case 2: dst.storeBytes(of: UInt16(truncatingIfNeeded: v), toByteOffset: i * 2, as: UInt16.self)
                default: dst.storeBytes(of: v, toByteOffset: i * 4, as: Int32.self)
                }
            }
        }
    }
}
