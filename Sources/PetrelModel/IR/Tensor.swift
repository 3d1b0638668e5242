#if canImport(Glibc)
import Glibc
#endif

/// Bytes behind a tensor: heap memory Petrel owns (64-byte aligned, zeroed), or a read-only view into
/// a mapped artifact kept alive by `owner`, so mapped weights are used in place and never copied.
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    private let owner: AnyObject?

    public init(byteCount: Int, zeroed: Bool = true) {
        self.byteCount = byteCount
        var p: UnsafeMutableRawPointer?
        posix_memalign(&p, 64, max(byteCount, 64))
        base = p!
        if zeroed { memset(base, 0, max(byteCount, 64)) }
        owner = nil
    }

    public init(viewing base: UnsafeRawPointer, byteCount: Int, owner: AnyObject) {
        self.base = UnsafeMutableRawPointer(mutating: base)
        self.byteCount = byteCount
        self.owner = owner
    }

    deinit { if owner == nil { free(base) } }
}

/// Swift types that can be tensor elements, tied to their ONNX dtype.
public protocol TensorElement { static var dtype: DType { get } }
extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Float16: TensorElement { public static var dtype: DType { .float16 } }
extension Int8: TensorElement { public static var dtype: DType { .int8 } }
extension Int16: TensorElement { public static var dtype: DType { .int16 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension UInt16: TensorElement { public static var dtype: DType { .uint16 } }
extension UInt32: TensorElement { public static var dtype: DType { .uint32 } }
extension UInt64: TensorElement { public static var dtype: DType { .uint64 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }

/// A dense, row-major tensor value (inputs, outputs, constants).
public struct Tensor: @unchecked Sendable {
    public var dtype: DType
    public var shape: [Int]
    public var storage: TensorStorage

    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { count * dtype.size }
    public var raw: UnsafeMutableRawPointer { storage.base }

    /// A zero-filled tensor.
    public init(dtype: DType, shape: [Int]) {
        self.dtype = dtype; self.shape = shape
        storage = TensorStorage(byteCount: shape.reduce(1, *) * dtype.size)
    }

    public init(dtype: DType, shape: [Int], storage: TensorStorage) {
        self.dtype = dtype; self.shape = shape; self.storage = storage
    }

    public init<T: TensorElement>(shape: [Int], _ values: [T]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.init(dtype: T.dtype, shape: shape)
        values.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    public func pointer<T: TensorElement>(_: T.Type) -> UnsafeMutablePointer<T> {
        precondition(T.dtype == dtype, "tensor is \(dtype), read as \(T.dtype)")
        return raw.assumingMemoryBound(to: T.self)
    }

    public func array<T: TensorElement>(_: T.Type) -> [T] {
        Array(UnsafeBufferPointer(start: pointer(T.self), count: count))
    }

    /// Integer contents (int64/int32/… or bool), for shape-like inputs such as Reshape's `shape`.
    public func ints() -> [Int] { (0..<count).map { Int(element(at: $0)) } }

    /// Element `i` converted to Double: for comparisons in tests and tools, not hot paths.
    public func element(at i: Int) -> Double {
        switch dtype {
        case .float32: Double(raw.load(fromByteOffset: i * 4, as: Float.self))
        case .float64: raw.load(fromByteOffset: i * 8, as: Double.self)
        case .float16: Double(raw.load(fromByteOffset: i * 2, as: Float16.self))
        case .int8: Double(raw.load(fromByteOffset: i, as: Int8.self))
        case .int16: Double(raw.load(fromByteOffset: i * 2, as: Int16.self))
        case .int32: Double(raw.load(fromByteOffset: i * 4, as: Int32.self))
        case .int64: Double(raw.load(fromByteOffset: i * 8, as: Int64.self))
        case .uint8: Double(raw.load(fromByteOffset: i, as: UInt8.self))
        case .uint16: Double(raw.load(fromByteOffset: i * 2, as: UInt16.self))
        case .uint32: Double(raw.load(fromByteOffset: i * 4, as: UInt32.self))
        case .uint64: Double(raw.load(fromByteOffset: i * 8, as: UInt64.self))
        case .bool: raw.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0
        }
    }

    /// A copy with its own storage.
    public func copy() -> Tensor {
        let t = Tensor(dtype: dtype, shape: shape, storage: TensorStorage(byteCount: byteCount, zeroed: false))
        t.raw.copyMemory(from: raw, byteCount: byteCount)
        return t
    }

    /// Same bytes, another shape of equal element count (Reshape, Flatten, Squeeze: no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(dtype: dtype, shape: newShape, storage: storage)
    }
}

extension Array where Element == Int {
    var product: Int { reduce(1, *) }
}
