/// The FP32 fast path: an array of plain numbers, the body of nearly every REST infer request.
///
/// Through `readNested`, each element cost about 400 instructions (a recursive call, the shape
/// bookkeeping, a general number scanner tracking integer overflow, a generic 4-byte append);
/// this loop takes about a tenth of that. It only ever *accepts* what the general path would
/// accept with the same value: anything else (NaN, `null`, a nested array, a literal that needs
/// the standard library's parser, a syntax error) stops the run with the cursor before that
/// element's comma, and the general path carries on from there, errors and all.
extension JSONReader {
    /// Reads leading elements of the array just entered while they are plain numbers, appending
    /// them to `out` as little-endian FP32. Leaves the cursor after the last element taken (on
    /// its `,` or the `]`) and returns how many it took.
    mutating func readFloat32Run(into out: inout [UInt8]) -> Int {
        let chunk = 64
        var total = 0
        while true {
            let at = out.count
            out.append(contentsOf: repeatElement(0, count: 4 * chunk))
            var k = 0
            var more = true
            out.withUnsafeMutableBytes { raw in
                let dst = raw.baseAddress! + at
                while k < chunk {
                    guard let v = nextPlainFloat32(first: total + k == 0) else { more = false; return }
                    dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * k, as: UInt32.self)
                    k += 1
                }
            }
            out.removeLast(4 * (chunk - k))
            total += k
            if !more { return total }
        }
    }

    /// The next element (after its comma unless `first`) when it is a number `JSONNumber.float`
    /// converts without falling back to text; otherwise nil with the cursor where it was.
    @inline(__always)
    private mutating func nextPlainFloat32(first: Bool) -> Float? {
        let start = pos
        if !first {
            skipWhitespace()
            guard pos < count, base[pos] == UInt8(ascii: ",") else { pos = start; return nil }
            pos += 1
        }
        skipWhitespace()
        guard let v = scanPlainFloat32() else { pos = start; return nil }
        return v
    }

    /// RFC 8259's number grammar with at most 19 significant digits and a small exponent, ended
    /// by a delimiter. Moves the cursor only on success.
    @inline(__always)
    private mutating func scanPlainFloat32() -> Float? {
        var p = pos
        var negative = false
        if p < count && base[p] == UInt8(ascii: "-") { negative = true; p += 1 }
        guard p < count, isDigit(base[p]) else { return nil }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        if base[p] == UInt8(ascii: "0") {
            p += 1
            if p < count && isDigit(base[p]) { return nil }  // leading zero: the general path reports it
        } else {
            while p < count, isDigit(base[p]) {
                guard digits < 19 else { return nil }
                mantissa = mantissa &* 10 &+ UInt64(base[p] &- UInt8(ascii: "0"))
                digits += 1
                p += 1
            }
        }
        if p < count && base[p] == UInt8(ascii: ".") {
            p += 1
            guard p < count, isDigit(base[p]) else { return nil }
            while p < count, isDigit(base[p]) {
                let d = UInt64(base[p] &- UInt8(ascii: "0"))
                if digits == 0 && d == 0 {
                    exponent -= 1
                } else {
                    guard digits < 19 else { return nil }
                    mantissa = mantissa &* 10 &+ d
                    exponent -= 1
                    digits += 1
                }
                p += 1
            }
        }
        if p < count && (base[p] == UInt8(ascii: "e") || base[p] == UInt8(ascii: "E")) {
            p += 1
            var negativeExponent = false
            if p < count && (base[p] == UInt8(ascii: "+") || base[p] == UInt8(ascii: "-")) {
                negativeExponent = base[p] == UInt8(ascii: "-")
                p += 1
            }
            guard p < count, isDigit(base[p]) else { return nil }
            var e = 0
            while p < count, isDigit(base[p]) {
                guard e < 1000 else { return nil }
                e = e * 10 + Int(base[p] &- UInt8(ascii: "0"))
                p += 1
            }
            exponent += negativeExponent ? -e : e
        }
        // The element must end here; "1x" and "1 2" are the general path's errors to report.
        guard p < count else { return nil }
        let c = base[p]
        guard c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else {
            return nil
        }
        guard let v = JSONNumber.fastFloat(negative: negative, mantissa: mantissa, exponent: exponent) else { return nil }
        pos = p
        return v
    }
}
