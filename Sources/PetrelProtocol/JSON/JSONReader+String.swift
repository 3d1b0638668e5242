extension JSONReader {
    /// Reads a string value. Keys and names are short and escape-free, so the fast path makes the
    /// String straight from the input bytes (no heap allocation up to 15 bytes).
    mutating func readString() throws(ProtocolError) -> String {
        try expect(UInt8(ascii: "\""))
        let start = pos
        var ascii = true
        while pos < count {
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                let bytes = UnsafeBufferPointer(start: base + start, count: pos - start)
                pos += 1
                if ascii { return String(decoding: bytes, as: UTF8.self) }
                guard let s = String(utf8Validating: bytes) else {
                    throw error("invalid UTF-8 in string", at: start)
                }
                return s
            }
            if c == UInt8(ascii: "\\") || c < 0x20 { break }
            if c >= 0x80 { ascii = false }
            pos += 1
        }
        pos = start - 1
        var bytes: [UInt8] = []
        try readString(appendingTo: &bytes)
        return String(decoding: bytes, as: UTF8.self)  // validated by readString(appendingTo:)
    }

    /// Reads a string value, appending its unescaped UTF-8 bytes; returns how many were appended.
    @discardableResult
    mutating func readString(appendingTo out: inout [UInt8]) throws(ProtocolError) -> Int {
        try expect(UInt8(ascii: "\""))
        let start = pos
        let before = out.count
        var nonASCII = false
        var runStart = pos
        while true {
            guard pos < count else { throw error("unterminated string", at: start - 1) }
            let c = base[pos]
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw error("control character 0x\(String(c, radix: 16)) in string") }
            if c >= 0x80 { nonASCII = true }
            if c != UInt8(ascii: "\\") { pos += 1; continue }
            out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: pos - runStart))
            pos += 1
            guard pos < count else { throw error("unterminated string", at: start - 1) }
            let e = base[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"): try appendUnicodeEscape(to: &out)
            default: throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: pos - 2)
            }
            runStart = pos
        }
        out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: pos - runStart))
        pos += 1
        if nonASCII {
            let ok = out.withUnsafeBufferPointer { buf in
                String(utf8Validating: UnsafeBufferPointer(rebasing: buf[before...])) != nil
            }
            if !ok { throw error("invalid UTF-8 in string", at: start) }
        }
        return out.count - before
    }

    /// After "\u": four hex digits, a surrogate pair taking two escapes; lone surrogates are errors.
    private mutating func appendUnicodeEscape(to out: inout [UInt8]) throws(ProtocolError) {
        let at = pos - 2
        var scalar = try readHex4()
        if scalar >= 0xD800 && scalar < 0xDC00 {
            guard pos + 1 < count, base[pos] == UInt8(ascii: "\\"), base[pos + 1] == UInt8(ascii: "u") else {
                throw error("unpaired surrogate \\u\(String(scalar, radix: 16))", at: at)
            }
            pos += 2
            let low = try readHex4()
            guard low >= 0xDC00 && low < 0xE000 else { throw error("unpaired surrogate \\u\(String(scalar, radix: 16))", at: at) }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if scalar >= 0xDC00 && scalar < 0xE000 {
            throw error("unpaired surrogate \\u\(String(scalar, radix: 16))", at: at)
        }
        out.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
    }

    private mutating func readHex4() throws(ProtocolError) -> UInt32 {
        guard pos + 4 <= count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = base[pos]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit \(describeByte(c)) in \\u escape")
            }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }
}
