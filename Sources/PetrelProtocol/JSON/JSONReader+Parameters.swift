extension JSONReader {
    /// Reads a `parameters` object: each value a bool, integer, other number or string.
    mutating func readParameters(_ context: String) throws(ProtocolError) -> [String: ParameterValue] {
        guard try peek() == UInt8(ascii: "{") else {
            throw .invalidArgument("\(context)'parameters' must be an object, got \(try describeValue())")
        }
        try enter(UInt8(ascii: "{"))
        var result: [String: ParameterValue] = [:]
        var first = true
        while let key = try nextKey(&first) {
            result[key] = try readParameterValue("\(context)parameter '\(key)'")
        }
        return result
    }

    mutating func readParameterValue(_ context: String) throws(ProtocolError) -> ParameterValue {
        let c = try peek()
        if let b = try readBool() { return .bool(b) }
        if c == UInt8(ascii: "\"") { return .string(try readString()) }
        if isDigit(c) || c == UInt8(ascii: "-") {
            let n = try readNumber()
            if let m = n.integer {
                if !n.negative, m <= UInt64(Int64.max) { return .int(Int64(m)) }
                if n.negative, m <= 1 << 63 { return .int(Int64(truncatingIfNeeded: 0 &- m)) }
            }
            return .double(n.double(text(of: n)))
        }
        throw .invalidArgument("\(context) must be a bool, number or string, got \(try describeValue())")
    }

    /// A non-negative integer (shape dimensions, sizes).
    mutating func readCount(_ context: @autoclosure () -> String) throws(ProtocolError) -> Int {
        let c = try peek()
        if isDigit(c) {
            let n = try readNumber()
            if let m = n.integer, m <= UInt64(Int.max) { return Int(m) }
        }
        throw .invalidArgument("\(context()) must be a non-negative integer")
    }
}

extension ParameterValue {
    var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    var intValue: Int64? { if case .int(let i) = self { i } else { nil } }
}
