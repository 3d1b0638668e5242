#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns the header bytes nghttp2 hands over into Strings without allocating for the ones a
/// client repeats on every request. Known names come back as literals; a known name's value is
/// reused while it matches the previous one on the connection (a client sends the same `:path`,
/// `content-type` and `user-agent` each time). Values of 15 bytes or less are Swift small strings
/// and never allocate, so only longer ones are kept.
///
/// A request otherwise paid about four heap strings (and UTF-8 validation) for its headers;
/// at tens of thousands of requests a second on a 2-core machine, that was a measurable share.
struct HeaderInterner {
    static let knownNames: [String] = [
        ":method", ":path", ":scheme", ":authority", ":status", "content-type", "content-length", "te",
        "user-agent", "accept", "accept-encoding", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
        "grpc-status", "grpc-message", "inference-header-content-length", "authorization", "server-timing",
    ]
    private static let knownBytes: [[UInt8]] = knownNames.map { Array($0.utf8) }
    private var lastValue: [(bytes: [UInt8], string: String)?] = Array(repeating: nil, count: knownNames.count)

    /// Positions in `knownNames` the session switches on (cheaper than comparing Strings).
    enum Known {
        static let method = position(":method"), path = position(":path"), scheme = position(":scheme"),
                   authority = position(":authority"), status = position(":status"), contentType = position("content-type")
        private static func position(_ name: String) -> Int { knownNames.firstIndex(of: name)! }
    }

    /// The name and value, and the name's position in `knownNames` (nil: not a known name).
    mutating func strings(_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> (name: String, value: String, known: Int?) {
        guard let i = Self.index(of: name) else {
            return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self), nil)
        }
        let n = Self.knownNames[i]
        if value.count <= 15 { return (n, String(decoding: value, as: UTF8.self), i) }
        if let last = lastValue[i], Self.equal(last.bytes, value) { return (n, last.string, i) }
        let v = String(decoding: value, as: UTF8.self)
        lastValue[i] = (Array(value), v)
        return (n, v, i)
    }

    private static func index(of name: UnsafeBufferPointer<UInt8>) -> Int? {
        for (i, known) in knownBytes.enumerated() where equal(known, name) { return i }
        return nil
    }

    private static func equal(_ a: [UInt8], _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        a.count == b.count && a.withUnsafeBufferPointer { memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 }
    }
}
