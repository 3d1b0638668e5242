extension String {
    /// The string of `bytes` if they are valid UTF-8, else nil: `String(validating:as: UTF8.self)`
    /// at a tenth of its cost. That initializer is generic and not specialized for callers outside
    /// the standard library, so every call looked up `Unicode.ParseResult` and buffer metadata at
    /// run time, ~900 instructions; a gRPC request read three strings that way.
    ///
    /// Names and datatypes are ASCII, checked eight bytes at a time and made straight into a
    /// String. Anything else is decoded with repair and accepted only if nothing was repaired:
    /// a repair writes U+FFFD where the first invalid byte was, so the bytes differ there.
    init?(utf8Validating bytes: UnsafeBufferPointer<UInt8>) {
        if bytes.isEmpty { self = ""; return }
        if Self.isASCII(bytes) { self = String(decoding: bytes, as: UTF8.self); return }
        let s = String(decoding: bytes, as: UTF8.self)
        guard s.utf8.count == bytes.count, s.utf8.elementsEqual(bytes) else { return nil }
        self = s
    }

    init?(utf8Validating bytes: [UInt8]) {
        guard let s = bytes.withUnsafeBufferPointer({ String(utf8Validating: $0) }) else { return nil }
        self = s
    }

    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let base = UnsafeRawPointer(bytes.baseAddress!)
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= bytes.count {
            high |= base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < bytes.count { high |= UInt64(bytes[i]); i += 1 }
        return high & 0x8080_8080_8080_8080 == 0
    }
}
