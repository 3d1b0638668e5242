/// A scanned JSON number: the first 19 significant digits as an integer and a decimal exponent,
/// enough to convert most literals exactly without going back to the text.
struct JSONNumber {
    var negative = false
    /// Significant digits, at most 19 of them (leading zeros skipped).
    var mantissa: UInt64 = 0
    /// value = mantissa × 10^exponent (before truncation).
    var exponent = 0
    /// Nonzero digits past the 19th were dropped.
    var truncated = false
    /// No fraction and no exponent part.
    var isInteger = true
    /// The integer literal's magnitude when `isInteger` and it fits in UInt64.
    var integer: UInt64? = 0
    var start = 0
    var end = 0
}

extension JSONReader {
    /// Scans a number per RFC 8259's grammar (no leading zeros, no '+', digits after '.' and 'e').
    mutating func readNumber() throws(ProtocolError) -> JSONNumber {
        skipWhitespace()
        var n = JSONNumber()
        n.start = pos
        if pos < count && base[pos] == UInt8(ascii: "-") { n.negative = true; pos += 1 }
        guard pos < count, isDigit(base[pos]) else {
            if pos < count { throw error("unexpected \(describeByte(base[pos]))") }
            throw error("unexpected end of input")
        }
        var digits = 0
        var integer: UInt64 = 0
        var integerOverflow = false
        if base[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < count && isDigit(base[pos]) { throw error("leading zero in number", at: n.start) }
        } else {
            while pos < count, isDigit(base[pos]) {
                let d = UInt64(base[pos] &- UInt8(ascii: "0"))
                if digits < 19 {
                    n.mantissa = n.mantissa &* 10 &+ d
                    digits += 1
                } else {
                    n.exponent += 1
                    if d != 0 { n.truncated = true }
                }
                if !integerOverflow {
                    let (m, o1) = integer.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(d)
                    integer = a
                    integerOverflow = o1 || o2
                }
                pos += 1
            }
        }
        if pos < count && base[pos] == UInt8(ascii: ".") {
            n.isInteger = false
            pos += 1
            guard pos < count, isDigit(base[pos]) else { throw error("expected a digit after '.'") }
            while pos < count, isDigit(base[pos]) {
                let d = UInt64(base[pos] &- UInt8(ascii: "0"))
                if digits == 0 && d == 0 {
                    n.exponent -= 1  // leading zeros of 0.000123 are not significant
                } else if digits < 19 {
                    n.mantissa = n.mantissa &* 10 &+ d
                    n.exponent -= 1
                    digits += 1
                } else if d != 0 {
                    n.truncated = true
                }
                pos += 1
            }
        }
        if pos < count && (base[pos] == UInt8(ascii: "e") || base[pos] == UInt8(ascii: "E")) {
            n.isInteger = false
            pos += 1
            var negativeExponent = false
            if pos < count && (base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-")) {
                negativeExponent = base[pos] == UInt8(ascii: "-")
                pos += 1
            }
            guard pos < count, isDigit(base[pos]) else { throw error("expected a digit in the exponent") }
            var e = 0
            while pos < count, isDigit(base[pos]) {
                // Clamp: 1e999999999999 is simply out of range, not an overflow trap.
                if e < 100_000 { e = e * 10 + Int(base[pos] &- UInt8(ascii: "0")) }
                pos += 1
            }
            n.exponent += negativeExponent ? -e : e
        }
        n.integer = n.isInteger && !integerOverflow ? integer : nil
        n.end = pos
        return n
    }

    @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    /// The literal's text, for messages and for the slow conversion path.
    func text(of n: JSONNumber) -> String {
        String(decoding: UnsafeBufferPointer(start: base + n.start, count: n.end - n.start), as: UTF8.self)
    }
}

private let exactPowersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]
private let exactFloatPowersOfTen: [Float] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]

extension JSONNumber {
    /// Correctly rounded Double. Clinger's fast path: a mantissa below 2^53 and a power of ten up to
    /// 10^22 are both exact doubles, so one IEEE multiply or divide rounds correctly. Anything else
    /// goes through the standard library's parser (strtod semantics, locale-independent).
    func double(_ text: @autoclosure () -> String) -> Double {
        if mantissa == 0 && !truncated { return negative ? -0.0 : 0.0 }
        if !truncated && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
            let m = Double(mantissa)
            let v = exponent < 0 ? m / exactPowersOfTen[-exponent] : m * exactPowersOfTen[exponent]
            return negative ? -v : v
        }
        return Double(text()) ?? .nan
    }

    /// Correctly rounded Float (not Float(double), which can round twice).
    ///
    /// 1. mantissa < 2^24 and |exponent| <= 10: one exact Float operation, as in `double`.
    /// 2. |exponent| <= 22: compute in Double, within 1.5 ulp of the true value. Rounding that to
    ///    Float is correct unless the true value could sit on the other side of a Float rounding
    ///    midpoint, i.e. the Double lies within a few ulps of one: its 29 bits below Float's mantissa
    ///    are then near 0x1000_0000. That happens for about 1 in 2^25 inputs; they, subnormals and
    ///    large exponents take the standard library's parser.
    /// Python's json writes float32 data as 17-digit doubles ("0.10000000149011612"): case 2.
    func float(_ text: @autoclosure () -> String) -> Float {
        if !truncated, let v = Self.fastFloat(negative: negative, mantissa: mantissa, exponent: exponent) { return v }
        return Float(text()) ?? .nan
    }

    /// Cases 1 and 2 of `float` (and zero), shared with the reader's FP32 fast path so both give
    /// the same bits; nil when only the standard library's parser can round correctly.
    @inline(__always)
    static func fastFloat(negative: Bool, mantissa: UInt64, exponent: Int) -> Float? {
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        if mantissa <= 1 << 24 && exponent >= -10 && exponent <= 10 {
            let m = Float(mantissa)
            let v = exponent < 0 ? m / exactFloatPowersOfTen[-exponent] : m * exactFloatPowersOfTen[exponent]
            return negative ? -v : v
        }
        if exponent >= -22 && exponent <= 22 {
            let m = Double(mantissa)
            let d = exponent < 0 ? m / exactPowersOfTen[-exponent] : m * exactPowersOfTen[exponent]
            if d >= Double(Float.leastNormalMagnitude) && d <= Double(Float.greatestFiniteMagnitude) {
                let low = Int64(d.bitPattern & 0x1FFF_FFFF)
                if abs(low - 0x1000_0000) > 16 {
                    let v = Float(d)
                    return negative ? -v : v
                }
            }
        }
        return nil
    }
}
