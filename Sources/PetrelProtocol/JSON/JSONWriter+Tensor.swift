extension JSONWriter {
    /// Writes a tensor's elements as JSON: one flat array (OIP, shape travels separately) or arrays
    /// nested by `shape` (TF Serving; a scalar for shape []). BYTES elements become strings; bytes
    /// that are not UTF-8 are replaced by U+FFFD (binary outputs carry them exactly).
    mutating func tensorData(_ t: InferTensor, nested: Bool) throws(ProtocolError) {
        try tensorData(t, range: 0..<(t.shapeElementCount ?? 0), dims: nested ? t.shape[...] : [t.shapeElementCount ?? 0])
    }

    /// Elements `range` of `t` nested by `dims` (whose product is range.count); TF Serving's row
    /// format writes one instance at a time this way.
    mutating func tensorData(_ t: InferTensor, range: Range<Int>, dims: ArraySlice<Int>) throws(ProtocolError) {
        let elements = try ElementView(t)
        var next = range.lowerBound
        elements.data.withUnsafeBytes { raw in
            writeNested(elements, raw, dims: dims, next: &next)
        }
    }

    private mutating func writeNested(_ e: ElementView, _ raw: UnsafeRawBufferPointer, dims: ArraySlice<Int>, next: inout Int) {
        guard let n = dims.first else {
            writeElement(e, raw, next)
            next += 1
            return
        }
        byte(UInt8(ascii: "["))
        if dims.count == 1 {
            for i in 0..<n {
                if i > 0 { byte(0x2C) }
                writeElement(e, raw, next + i)
            }
            next += n
        } else {
            for i in 0..<n {
                if i > 0 { byte(0x2C) }
                writeNested(e, raw, dims: dims.dropFirst(), next: &next)
            }
        }
        byte(UInt8(ascii: "]"))
    }

    @inline(__always)
    private mutating func writeElement(_ e: ElementView, _ raw: UnsafeRawBufferPointer, _ i: Int) {
        switch e.datatype {
        case .bool: bool(raw[i] != 0)
        case .uint8: int(raw[i])
        case .int8: int(Int8(bitPattern: raw[i]))
        case .uint16: int(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)
        case .int16: int(raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self).littleEndian)
        case .uint32: int(raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
        case .int32: int(raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self).littleEndian)
        case .uint64: int(raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian)
        case .int64: int(raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self).littleEndian)
        case .fp16: float(HalfFloat.fp16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
        case .bf16: float(HalfFloat.bf16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
        case .fp32: float(Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian))
        case .fp64: double(Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian))
        case .bytes:
            let r = e.byteRanges[i]
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: raw[r]), as: UTF8.self)
            string(s)
        }
    }
}

/// A tensor checked to hold exactly the elements its shape calls for; BYTES elements located.
struct ElementView {
    let datatype: InferDataType
    let data: [UInt8]
    var byteRanges: [Range<Int>] = []

    init(_ t: InferTensor) throws(ProtocolError) {
        datatype = t.datatype
        data = t.data
        guard let n = t.shapeElementCount else {
            throw .init(.internal, "tensor '\(t.name)': invalid shape \(shapeText(t.shape))")
        }
        if let size = t.datatype.byteSize {
            guard n * size == t.data.count else {
                throw .init(.internal, "tensor '\(t.name)': \(t.data.count) bytes for shape \(shapeText(t.shape)) \(t.datatype.rawValue), expected \(n * size)")
            }
        } else {
            guard let ranges = bytesElementRanges(t.data), ranges.count == n else {
                throw .init(.internal, "tensor '\(t.name)': BYTES data does not hold \(n) length-prefixed elements")
            }
            byteRanges = ranges
        }
    }
}

/// Splits Triton's BYTES layout (4-byte LE length, then the bytes, repeated) into element ranges;
/// nil when a length runs past the end.
func bytesElementRanges(_ data: [UInt8]) -> [Range<Int>]? {
    var ranges: [Range<Int>] = []
    var at = 0
    while at < data.count {
        guard at + 4 <= data.count else { return nil }
        let n = Int(UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24)
        at += 4
        guard n <= data.count - at else { return nil }
        ranges.append(at..<(at + n))
        at += n
    }
    return ranges
}
