/// Element types. Raw values are ONNX's `TensorProto.DataType` codes, so they round-trip through
/// ONNX files and compiled artifacts unchanged.
public enum DType: Int, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7
    case bool = 9, float16 = 10, float64 = 11, uint32 = 12, uint64 = 13

    public var size: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16, .float16: 2
        case .float32, .int32, .uint32: 4
        case .int64, .uint64, .float64: 8
        }
    }

    /// ONNX's name (`tensor(float)` without the wrapper), used in errors.
    public var description: String {
        switch self {
        case .float32: "float"; case .uint8: "uint8"; case .int8: "int8"; case .uint16: "uint16"
        case .int16: "int16"; case .int32: "int32"; case .int64: "int64"; case .bool: "bool"
        case .float16: "float16"; case .float64: "double"; case .uint32: "uint32"; case .uint64: "uint64"
        }
    }

    public var isFloat: Bool { self == .float32 || self == .float64 || self == .float16 }

    /// A name for ONNX codes Petrel does not run (strings, bfloat16, float8, int4, complex), for errors.
    public static func onnxName(_ code: Int) -> String {
        if let t = DType(rawValue: code) { return t.description }
        switch code {
        case 8: return "string"; case 14: return "complex64"; case 15: return "complex128"
        case 16: return "bfloat16"; case 17...20: return "float8"; case 21: return "uint4"; case 22: return "int4"
        case 23: return "float4e2m1"; default: return "type code \(code)"
        }
    }
}
