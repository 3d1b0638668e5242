/// Appends JSON to a byte array. Floats use Swift's shortest round-trip `description` (small
/// strings, no heap allocation). JSON has no NaN or infinities: they are written as `null` (strict
/// parsers accept it; numpy reads None as NaN in a float array). Clients that need exact non-finite
/// values ask for binary outputs.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    @inline(__always) mutating func raw(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always) mutating func byte(_ c: UInt8) { bytes.append(c) }

    @inline(__always) mutating func ascii(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Digits written directly: the generic `String(v)` went through the radix formatter and a
    /// string per number (shapes, BYTES lengths, integer tensors).
    mutating func int<T: BinaryInteger>(_ v: T) {
        guard let i = Int64(exactly: v) else { return ascii(String(v)) }
        if i < 0 { byte(UInt8(ascii: "-")) }
        var m = i.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var n = 20
            repeat {
                n -= 1
                buf[n] = UInt8(truncatingIfNeeded: m % 10) &+ UInt8(ascii: "0")
                m /= 10
            } while m != 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[n...]))
        }
    }

    /// Strings of signed integers, as proto3 JSON writes int64 (TF Serving's dims).
    mutating func quotedInt<T: BinaryInteger>(_ v: T) { byte(0x22); int(v); byte(0x22) }

    mutating func float(_ v: Float) {
        if v.isFinite { ascii(v.description) } else { raw("null") }
    }

    mutating func double(_ v: Double) {
        if v.isFinite { ascii(v.description) } else { raw("null") }
    }

    mutating func bool(_ v: Bool) { v ? raw("true") : raw("false") }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { string(utf8: $0) }
    }

    /// Escapes '"', '\\' and control characters; other bytes pass through (callers hand valid UTF-8).
    mutating func string(utf8 s: UnsafeBufferPointer<UInt8>) {
        byte(0x22)
        var run = 0
        for i in 0..<s.count {
            let c = s[i]
            guard c < 0x20 || c == 0x22 || c == 0x5C else { continue }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: s[run..<i]))
            switch c {
            case 0x22: raw("\\\"")
            case 0x5C: raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                raw("\\u00")
                byte(hex[Int(c >> 4)]); byte(hex[Int(c & 0xF)])
            }
            run = i + 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: s[run...]))
        byte(0x22)
    }

    /// `"key":`
    mutating func key(_ k: StaticString) {
        byte(0x22); raw(k); raw("\":")
    }

    mutating func shape<T: BinaryInteger>(_ dims: [T]) {
        byte(UInt8(ascii: "["))
        for (i, d) in dims.enumerated() {
            if i > 0 { byte(0x2C) }
            int(d)
        }
        byte(UInt8(ascii: "]"))
    }
}
