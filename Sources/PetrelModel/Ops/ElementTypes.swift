#if canImport(Glibc)
import Glibc
#endif

/// Numeric element types with the arithmetic ONNX defines on them. Integer ops wrap on overflow and
/// never trap (a division by zero yields 0: ONNX leaves it undefined, and a server must not crash on it).
protocol NumericElement: TensorElement, Comparable {
    static func add(_ a: Self, _ b: Self) -> Self
    static func sub(_ a: Self, _ b: Self) -> Self
    static func mul(_ a: Self, _ b: Self) -> Self
    static func div(_ a: Self, _ b: Self) -> Self
    init(double: Double)
    var double: Double { get }
    /// Two's-complement bits for integer types (casts between integers); floats convert.
    var bits64: Int64 { get }
    init(bits64: Int64)
    static var isInteger: Bool { get }
}

protocol FloatElement: NumericElement {}

extension Float: FloatElement {}
extension Double: FloatElement {}
extension Float16: FloatElement {}

extension NumericElement where Self: BinaryFloatingPoint {
    static func add(_ a: Self, _ b: Self) -> Self { a + b }
    static func sub(_ a: Self, _ b: Self) -> Self { a - b }
    static func mul(_ a: Self, _ b: Self) -> Self { a * b }
    static func div(_ a: Self, _ b: Self) -> Self { a / b }
    init(double: Double) { self.init(double) }
    var double: Double { Double(self) }
    var bits64: Int64 { Int64(double: Double(self)) }
    init(bits64: Int64) { self.init(Double(bits64)) }
    static var isInteger: Bool { false }
}

extension NumericElement where Self: FixedWidthInteger {
    static func add(_ a: Self, _ b: Self) -> Self { a &+ b }
    static func sub(_ a: Self, _ b: Self) -> Self { a &- b }
    static func mul(_ a: Self, _ b: Self) -> Self { a &* b }
    static func div(_ a: Self, _ b: Self) -> Self {
        if b == 0 { return 0 }
        if Self.isSigned && b == -1 { return 0 &- a }
        return a / b
    }
    /// Saturating, truncating toward zero; NaN → 0.
    init(double d: Double) {
        if d.isNaN { self = 0 } else if d >= Double(Self.max) { self = .max } else if d <= Double(Self.min) { self = .min }
        else { self.init(d.rounded(.towardZero)) }
    }
    var double: Double { Double(self) }
    var bits64: Int64 { Int64(truncatingIfNeeded: self) }
    init(bits64: Int64) { self.init(truncatingIfNeeded: bits64) }
    static var isInteger: Bool { true }
}

extension Int8: NumericElement {}
extension Int16: NumericElement {}
extension Int32: NumericElement {}
extension Int64: NumericElement {}
extension UInt8: NumericElement {}
extension UInt16: NumericElement {}
extension UInt32: NumericElement {}
extension UInt64: NumericElement {}

/// Code generic over numeric element types, run for a dtype chosen at plan time.
protocol NumericVisitor {
    associatedtype Result
    func visit<T: NumericElement>(_ t: T.Type) throws -> Result
}

extension DType {
    var isNumeric: Bool { self != .bool }

    func visit<V: NumericVisitor>(_ v: V) throws -> V.Result {
        switch self {
        case .float32: try v.visit(Float.self)
        case .float64: try v.visit(Double.self)
        case .float16: try v.visit(Float16.self)
        case .int8: try v.visit(Int8.self)
        case .int16: try v.visit(Int16.self)
        case .int32: try v.visit(Int32.self)
        case .int64: try v.visit(Int64.self)
        case .uint8: try v.visit(UInt8.self)
        case .uint16: try v.visit(UInt16.self)
        case .uint32: try v.visit(UInt32.self)
        case .uint64: try v.visit(UInt64.self)
        case .bool: throw ModelError(.unsupported, "bool is not a numeric type")
        }
    }
}

/// Code that only moves bits (Where, Expand), run with an unsigned integer type of the element's size.
protocol BitsVisitor {
    func visit<T: FixedWidthInteger>(_ t: T.Type) -> Step
}

extension DType {
    func visitBits<V: BitsVisitor>(_ v: V) -> Step {
        switch size {
        case 1: v.visit(UInt8.self)
        case 2: v.visit(UInt16.self)
        case 4: v.visit(UInt32.self)
        default: v.visit(UInt64.self)
        }
    }
}
