/// Element types of the Open Inference Protocol, spelled as on the wire ("FP32", "BYTES", ...).
public enum InferDataType: String, Sendable, CaseIterable, Hashable {
    case bool = "BOOL", uint8 = "UINT8", uint16 = "UINT16", uint32 = "UINT32", uint64 = "UINT64"
    case int8 = "INT8", int16 = "INT16", int32 = "INT32", int64 = "INT64"
    case fp16 = "FP16", fp32 = "FP32", fp64 = "FP64", bytes = "BYTES", bf16 = "BF16"

    /// Written out: the synthesized initializer matched through `_findStringSwitchCase`, about
    /// 1,000 instructions, and every tensor of every request names its datatype. The names are at
    /// most 7 bytes, so each is compared as one integer (bytes, and the length in the top byte).
    public init?(rawValue: String) {
        guard let key = Self.pack(rawValue), let i = Self.packedNames.firstIndex(of: key) else { return nil }
        self = Self.allCases[i]
    }

    private static let packedNames: [UInt64] = allCases.map { pack($0.rawValue)! }

    private static func pack(_ s: String) -> UInt64? {
        var key: UInt64 = 0
        var n = 0
        for b in s.utf8 {
            n += 1
            guard n <= 7 else { return nil }
            key = key << 8 | UInt64(b)
        }
        return key | UInt64(n) << 56
    }

    /// Bytes per element in the raw layout; nil for BYTES, whose elements carry their own length.
    public var byteSize: Int? {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .fp16, .bf16: 2
        case .uint32, .int32, .fp32: 4
        case .uint64, .int64, .fp64: 8
        case .bytes: nil
        }
    }

    /// Inclusive range of an integer type, as Int64 bounds plus the UInt64 ceiling for UINT64.
    var integerRange: (min: Int64, max: UInt64)? {
        switch self {
        case .uint8: (0, UInt64(UInt8.max))
        case .uint16: (0, UInt64(UInt16.max))
        case .uint32: (0, UInt64(UInt32.max))
        case .uint64: (0, UInt64.max)
        case .int8: (Int64(Int8.min), UInt64(Int8.max))
        case .int16: (Int64(Int16.min), UInt64(Int16.max))
        case .int32: (Int64(Int32.min), UInt64(Int32.max))
        case .int64: (Int64.min, UInt64(Int64.max))
        default: nil
        }
    }
}
