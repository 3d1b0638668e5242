extension JSONReader {
    /// Reads tensor data (a scalar, or arrays nested to any depth) as raw little-endian elements of
    /// `datatype` appended to `out`. Returns the nested shape, which must be rectangular ("[[1,2],[3]]"
    /// is rejected), and the element count. Messages name the offending value but not the tensor:
    /// callers prefix that.
    mutating func readTensorData(_ datatype: InferDataType, into out: inout [UInt8])
        throws(ProtocolError) -> (shape: [Int], count: Int)
    {
        var dims: [Int] = []
        var leafLevel: Int? = nil
        var count = 0
        try readNested(datatype, level: 0, dims: &dims, leafLevel: &leafLevel, count: &count, into: &out)
        let shape = leafLevel.map { Array(dims.prefix($0)) } ?? dims
        return (shape, count)
    }

    private mutating func readNested(_ datatype: InferDataType, level: Int, dims: inout [Int],
                                     leafLevel: inout Int?, count: inout Int, into out: inout [UInt8])
        throws(ProtocolError)
    {
        guard try peek() == UInt8(ascii: "[") else {
            if let l = leafLevel, l != level { throw raggedError() }
            leafLevel = level
            try readElement(datatype, into: &out)
            count += 1
            return
        }
        if let l = leafLevel, level >= l { throw raggedError() }
        let start = pos
        if level == dims.count { dims.append(-1) }  // -1: no array at this depth finished yet
        try enter(UInt8(ascii: "["))
        var n = 0
        if datatype == .fp32, leafLevel == nil || leafLevel == level + 1 {
            n = readFloat32Run(into: &out)
            if n > 0 { leafLevel = level + 1; count += n }
        }
        var first = n == 0
        while try nextElement(&first) {
            try readNested(datatype, level: level + 1, dims: &dims, leafLevel: &leafLevel, count: &count, into: &out)
            n += 1
        }
        if dims[level] < 0 {
            dims[level] = n
        } else if dims[level] != n {
            throw .invalidArgument("ragged nested array at byte \(start): \(n) elements where \(dims[level]) were expected")
        }
    }

    private func raggedError() -> ProtocolError {
        .invalidArgument("ragged nested array at byte \(pos): arrays and values mixed at one depth")
    }

    /// One element: numbers for numeric types (NaN/Infinity/null too for floats, since Python's json
    /// writes NaN and Infinity and our writer emits null), true/false for BOOL, strings for BYTES.
    @inline(__always)
    mutating func readElement(_ datatype: InferDataType, into out: inout [UInt8]) throws(ProtocolError) {
        let c = try peek()
        switch datatype {
        case .fp32:
            if isDigit(c) || (c == UInt8(ascii: "-") && pos + 1 < count && isDigit(base[pos + 1])) {
                let n = try readNumber()
                let v = n.float(text(of: n))
                guard v.isFinite else { throw outOfRange(n, datatype) }
                append(v.bitPattern, to: &out)
            } else {
                append(Float(try readNonFinite(datatype)).bitPattern, to: &out)
            }
        case .fp64:
            let v: Double
            if isDigit(c) || c == UInt8(ascii: "-") && pos + 1 < count && isDigit(base[pos + 1]) {
                let n = try readNumber()
                v = n.double(text(of: n))
                guard v.isFinite else { throw outOfRange(n, datatype) }
            } else {
                v = try readNonFinite(datatype)
            }
            append(v.bitPattern, to: &out)
        case .fp16, .bf16:
            let d: Double
            var number: JSONNumber? = nil
            if isDigit(c) || c == UInt8(ascii: "-") && pos + 1 < count && isDigit(base[pos + 1]) {
                let n = try readNumber()
                d = n.double(text(of: n))
                number = n
            } else {
                d = try readNonFinite(datatype)
            }
            let bits = datatype == .fp16 ? HalfFloat.fp16Bits(d) : HalfFloat.bf16Bits(d)
            if let n = number, bits & 0x7FFF == (datatype == .fp16 ? 0x7C00 : 0x7F80) { throw outOfRange(n, datatype) }
            append(bits, to: &out)
        case .bool:
            guard let b = try readBool() else { throw try mismatch(datatype, expected: "true or false") }
            out.append(b ? 1 : 0)
        case .bytes:
            guard c == UInt8(ascii: "\"") else { throw try mismatch(datatype, expected: "strings") }
            let at = out.count
            out.append(contentsOf: [0, 0, 0, 0] as [UInt8])
            let n = try readString(appendingTo: &out)
            withUnsafeBytes(of: UInt32(n).littleEndian) { le in
                for i in 0..<4 { out[at + i] = le[i] }
            }
        case .uint8, .uint16, .uint32, .uint64, .int8, .int16, .int32, .int64:
            guard isDigit(c) || c == UInt8(ascii: "-") else { throw try mismatch(datatype, expected: "integers") }
            let n = try readNumber()
            let v = try integerBits(n, datatype)
            switch datatype.byteSize! {
            case 1: out.append(UInt8(truncatingIfNeeded: v))
            case 2: append(UInt16(truncatingIfNeeded: v), to: &out)
            case 4: append(UInt32(truncatingIfNeeded: v), to: &out)
            default: append(v, to: &out)
            }
        }
    }

    @inline(__always) private func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    /// The two's-complement bits of an integer literal after checking it fits `datatype`. Integral
    /// literals written with a fraction or exponent ("2.0", "1e3") are accepted.
    private func integerBits(_ n: JSONNumber, _ datatype: InferDataType) throws(ProtocolError) -> UInt64 {
        let range = datatype.integerRange!
        var magnitude: UInt64
        if let m = n.integer {
            magnitude = m
        } else {
            let d = abs(n.double(text(of: n)))
            guard !n.isInteger, d.rounded() == d else {
                if n.isInteger { throw outOfRange(n, datatype) }
                throw .invalidArgument("datatype \(datatype.rawValue) expects integers, got \(text(of: n))")
            }
            guard d < 0x1p64 else { throw outOfRange(n, datatype) }
            magnitude = UInt64(d)
        }
        if n.negative && magnitude != 0 {
            guard magnitude <= UInt64(bitPattern: 0 &- range.min) || (range.min == Int64.min && magnitude == 1 << 63) else {
                throw outOfRange(n, datatype)
            }
            return 0 &- magnitude
        }
        guard magnitude <= range.max else { throw outOfRange(n, datatype) }
        return magnitude
    }

    private mutating func readNonFinite(_ datatype: InferDataType) throws(ProtocolError) -> Double {
        switch try peek() {
        case UInt8(ascii: "N"): try readLiteral("NaN"); return .nan
        case UInt8(ascii: "n"): try readLiteral("null"); return .nan
        case UInt8(ascii: "I"): try readLiteral("Infinity"); return .infinity
        case UInt8(ascii: "-") where pos + 1 < count && base[pos + 1] == UInt8(ascii: "I"):
            pos += 1
            try readLiteral("Infinity")
            return -.infinity
        default: throw try mismatch(datatype, expected: "numbers")
        }
    }

    private func outOfRange(_ n: JSONNumber, _ datatype: InferDataType) -> ProtocolError {
        if let r = datatype.integerRange {
            return .invalidArgument("value \(text(of: n)) is out of range for \(datatype.rawValue) (\(r.min)...\(r.max))")
        }
        return .invalidArgument("value \(text(of: n)) is out of range for \(datatype.rawValue)")
    }

    /// "datatype FP32 expects numbers, got string \"a\"": describes the value found, then fails.
    private mutating func mismatch(_ datatype: InferDataType, expected: String) throws(ProtocolError) -> ProtocolError {
        .invalidArgument("datatype \(datatype.rawValue) expects \(expected), got \(try describeValue())")
    }

    /// A short description of the value at the cursor, for error messages.
    mutating func describeValue() throws(ProtocolError) -> String {
        let at = pos
        switch try peek() {
        case UInt8(ascii: "\""):
            let s = try readString()
            let shown = s.count > 32 ? String(s.prefix(32)) + "..." : s
            return "string \"\(shown)\""
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "boolean \(try readBool()!)"
        case UInt8(ascii: "n"): try readLiteral("null"); return "null"
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case let c where isDigit(c) || c == UInt8(ascii: "-"):
            let n = try readNumber()
            return "number \(text(of: n))"
        default:
            throw error("unexpected \(describeByte(base[at]))", at: at)
        }
    }
}
