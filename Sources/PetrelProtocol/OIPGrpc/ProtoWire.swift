/// Just enough of the protobuf wire format for the two hot paths that skip SwiftProtobuf: peeking at
/// a request's model name and writing infer responses straight into one byte array.
struct ProtoWriter {
    var bytes: [UInt8] = []

    /// `prefix` zero bytes come first: room a transport fills in (a gRPC frame header).
    init(capacity: Int, prefix: Int = 0) {
        bytes.reserveCapacity(prefix + capacity)
        bytes.append(contentsOf: repeatElement(0, count: prefix))
    }

    @inline(__always) mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func lengthDelimitedTag(_ field: Int, length: Int) {
        varint(UInt64(field << 3 | 2))
        varint(UInt64(length))
    }

    /// A string or bytes field; proto3 omits empty ones.
    mutating func field(_ field: Int, _ s: String) {
        guard !s.isEmpty else { return }
        var s = s
        s.withUTF8 { u in
            lengthDelimitedTag(field, length: u.count)
            bytes.append(contentsOf: u)
        }
    }

    static func varintSize(_ v: UInt64) -> Int {
        var n = 1
        var v = v >> 7
        while v != 0 { n += 1; v >>= 7 }
        return n
    }

    static func fieldSize(_ field: Int, length: Int) -> Int {
        varintSize(UInt64(field << 3 | 2)) + varintSize(UInt64(length)) + length
    }
}

/// Walks top-level fields of a serialized message without decoding nested ones.
struct ProtoReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var pos = 0

    mutating func varint() -> UInt64? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while pos < bytes.count, shift < 64 {
            let b = bytes[pos]
            pos += 1
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
        return nil
    }

    enum Value { case varint(UInt64), fixed, bytes(Range<Int>) }

    /// The next field's number and value; nil at the end, or (-1, .fixed) on malformed input.
    mutating func next() -> (field: Int, value: Value)? {
        guard pos < bytes.count else { return nil }
        let start = pos
        // A tag is at most 5 bytes (SwiftProtobuf refuses longer ones, even zero-padded).
        guard let key = varint(), pos - start <= 5, key >> 3 > 0, key >> 3 < 1 << 29 else { return (-1, .fixed) }
        let field = Int(key >> 3)
        switch key & 7 {
        case 0:
            guard let v = varint() else { return (-1, .fixed) }
            return (field, .varint(v))
        case 1, 5:
            let n = key & 7 == 1 ? 8 : 4
            guard bytes.count - pos >= n else { return (-1, .fixed) }
            pos += n
            return (field, .fixed)
        case 2:
            guard let n = varint(), n <= UInt64(bytes.count - pos) else { return (-1, .fixed) }
            let r = pos..<(pos + Int(n))
            pos += Int(n)
            return (field, .bytes(r))
        default:
            return (-1, .fixed)  // groups are not used by proto3 messages
        }
    }
}
