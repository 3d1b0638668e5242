/// A single-pass cursor over JSON bytes (RFC 8259). No tree is built: the codecs walk objects key by
/// key and read tensor data straight into raw element bytes, which is what makes REST infer cheap.
/// Errors are `.invalidArgument` and name the byte offset.
struct JSONReader {
    /// Arrays and objects nested deeper than this are rejected, so hostile input cannot exhaust the
    /// stack of the recursive readers; real tensors have a handful of dimensions.
    static let maxDepth = 64

    let base: UnsafePointer<UInt8>
    let count: Int
    var pos = 0
    var depth = 0

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        // An empty buffer may have a nil base; any valid pointer works since count is 0.
        self.base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
        self.count = buffer.count
    }

    func error(_ message: String, at offset: Int? = nil) -> ProtocolError {
        .invalidArgument("invalid JSON at byte \(offset ?? pos): \(message)")
    }


    @inline(__always) mutating func skipWhitespace() {
        while pos < count {
            let c = base[pos]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            pos += 1
        }
    }

    /// The next significant byte, not consumed.
    @inline(__always) mutating func peek() throws(ProtocolError) -> UInt8 {
        skipWhitespace()
        guard pos < count else { throw error("unexpected end of input") }
        return base[pos]
    }

    mutating func expect(_ c: UInt8) throws(ProtocolError) {
        guard try peek() == c else { throw error("expected '\(Character(Unicode.Scalar(c)))', found \(describeByte(base[pos]))") }
        pos += 1
    }

    /// Fails unless only whitespace is left.
    mutating func expectEnd() throws(ProtocolError) {
        skipWhitespace()
        if pos < count { throw error("unexpected \(describeByte(base[pos])) after the JSON value") }
    }

    func describeByte(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
    }

    // MARK: Containers

    mutating func enter(_ open: UInt8) throws(ProtocolError) {
        try expect(open)
        depth += 1
        if depth > Self.maxDepth { throw error("nesting deeper than \(Self.maxDepth) levels", at: pos - 1) }
    }

    /// Iterates an object: call after `enter("{")` with `first = true`; returns the next key with the
    /// cursor on its value, or nil after consuming the closing brace.
    mutating func nextKey(_ first: inout Bool) throws(ProtocolError) -> String? {
        var c = try peek()
        // A '}' right after ',' never reaches here: the comma branch below wants a key next.
        if c == UInt8(ascii: "}") {
            pos += 1; depth -= 1; return nil
        }
        if !first {
            guard c == UInt8(ascii: ",") else { throw error("expected ',' or '}', found \(describeByte(c))") }
            pos += 1
            c = try peek()
        }
        first = false
        guard c == UInt8(ascii: "\"") else { throw error("expected a string key, found \(describeByte(c))") }
        let key = try readString()
        try expect(UInt8(ascii: ":"))
        return key
    }

    /// Iterates an array like `nextKey`: true with the cursor on the next element, false after `]`.
    @inline(__always)
    mutating func nextElement(_ first: inout Bool) throws(ProtocolError) -> Bool {
        let c = try peek()
        if c == UInt8(ascii: "]") {
            pos += 1; depth -= 1; return false
        }
        if !first {
            guard c == UInt8(ascii: ",") else { throw error("expected ',' or ']', found \(describeByte(c))") }
            pos += 1
            // A value must follow the comma: "[1,]" is not JSON.
            if try peek() == UInt8(ascii: "]") { throw error("expected a value after ','") }
        }
        first = false
        return true
    }

    // MARK: Scalars

    mutating func readLiteral(_ word: StaticString) throws(ProtocolError) {
        let start = pos
        let n = word.utf8CodeUnitCount
        guard pos + n <= count, memcmp(base + pos, word.utf8Start, n) == 0 else {
            throw error("invalid literal (expected \(word))", at: start)
        }
        pos += n
    }

    mutating func readBool() throws(ProtocolError) -> Bool? {
        switch try peek() {
        case UInt8(ascii: "t"): try readLiteral("true"); return true
        case UInt8(ascii: "f"): try readLiteral("false"); return false
        default: return nil
        }
    }

    /// Skips any value, checking its syntax.
    mutating func skipValue() throws(ProtocolError) {
        switch try peek() {
        case UInt8(ascii: "{"):
            try enter(UInt8(ascii: "{"))
            var first = true
            while try nextKey(&first) != nil { try skipValue() }
        case UInt8(ascii: "["):
            try enter(UInt8(ascii: "["))
            var first = true
            while try nextElement(&first) { try skipValue() }
        case UInt8(ascii: "\""): _ = try readString()
        case UInt8(ascii: "t"): try readLiteral("true")
        case UInt8(ascii: "f"): try readLiteral("false")
        case UInt8(ascii: "n"): try readLiteral("null")
        default: _ = try readNumber()
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
