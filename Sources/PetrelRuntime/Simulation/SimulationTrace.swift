/// Request arrivals per function, in nanoseconds on the simulation's clock, sorted.
///
/// Read from CSV, one request a line:
/// ```
/// timestamp_seconds,function      <- optional header (a first line whose timestamp is no number)
/// 0.000,resnet
/// 0.250,resnet
/// 0.251,bert
/// ```
/// Timestamps are seconds (decimals allowed, any origin: epoch seconds work); the earliest one in
/// the file becomes t = 0, the moment every function is deployed. Lines need not be sorted. Blank
/// lines and lines starting with `#` are skipped. A function name is what function.yaml's `name`
/// allows (any text without a comma is accepted here: the trace may come from elsewhere).
public struct SimulationTrace: Equatable, Sendable {
    public struct Function: Equatable, Sendable {
        public var name: String
        /// Nanoseconds since deploy, ascending.
        public var arrivals: [Int64]
        public init(name: String, arrivals: [Int64]) { self.name = name; self.arrivals = arrivals }
    }

    /// Sorted by name, so reports come out in the same order whatever the file's order.
    public var functions: [Function]

    public init(functions: [Function]) {
        self.functions = functions.sorted { $0.name < $1.name }
        for i in self.functions.indices { self.functions[i].arrivals.sort() }
    }

    public var requestCount: Int { functions.reduce(0) { $0 + $1.arrivals.count } }
}

/// A CSV line the trace reader could not use: "trace.csv:17: timestamp "1,5" is not a number".
public struct SimulationTraceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 1-based, as editors count.
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

extension SimulationTrace {
    /// Parses the CSV described on the type. Works on bytes: a 10-million-line trace reads in
    /// seconds, where splitting `String`s would take a minute.
    public static func parseCSV(_ bytes: [UInt8]) throws(SimulationTraceError) -> SimulationTrace {
        var byName: [String: Int] = [:]
        var names: [String] = []
        var seconds: [[Double]] = []
        var lineNumber = 0, sawData = false, sawContent = false
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            lineNumber += 1
            defer { start = end + 1 }
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            let line = bytes[start..<lineEnd]
            let trimmed = trim(line)
            if trimmed.isEmpty || trimmed.first == UInt8(ascii: "#") { continue }
            let isFirstContent = !sawContent
            sawContent = true
            guard let comma = trimmed.firstIndex(of: UInt8(ascii: ",")) else {
                throw SimulationTraceError(line: lineNumber, message: "expected timestamp_seconds,function, found \"\(text(trimmed))\"")
            }
            let timeField = trim(trimmed[..<comma]), nameField = trim(trimmed[(comma + 1)...])
            guard let t = number(timeField) else {
                // A first line that is no number is the header.
                if isFirstContent { continue }
                throw SimulationTraceError(line: lineNumber, message: "timestamp \"\(text(timeField))\" is not a number of seconds")
            }
            guard t.isFinite else {
                throw SimulationTraceError(line: lineNumber, message: "timestamp \(text(timeField)) is not finite")
            }
            guard !nameField.isEmpty else {
                throw SimulationTraceError(line: lineNumber, message: "the function name is empty")
            }
            if nameField.contains(UInt8(ascii: ",")) {
                throw SimulationTraceError(line: lineNumber, message: "expected 2 fields (timestamp_seconds,function), found more")
            }
            sawData = true
            let name = text(nameField)
            let i: Int
            if let known = byName[name] { i = known } else {
                i = names.count
                byName[name] = i
                names.append(name)
                seconds.append([])
            }
            seconds[i].append(t)
        }
        guard sawData else { throw SimulationTraceError(line: max(1, lineNumber), message: "the trace has no requests") }
        let origin = seconds.map { $0.min()! }.min()!
        return SimulationTrace(functions: zip(names, seconds).map { name, ts in
            Function(name: name, arrivals: ts.map { Int64((($0 - origin) * 1e9).rounded()) })
        })
    }

    private static func trim(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = s
        while let f = s.first, f == 32 || f == 9 { s = s.dropFirst() }
        while let l = s.last, l == 32 || l == 9 { s = s.dropLast() }
        return s
    }

    private static func text(_ s: ArraySlice<UInt8>) -> String { String(decoding: s, as: UTF8.self) }

    /// Plain decimals (`12`, `-3.25`) without allocating; anything else (exponents) via `Double`.
    private static func number(_ s: ArraySlice<UInt8>) -> Double? {
        var i = s.startIndex
        var negative = false
        if i < s.endIndex && (s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+")) {
            negative = s[i] == UInt8(ascii: "-"); i += 1
        }
        var whole: UInt64 = 0, fraction: UInt64 = 0, scale = 1.0, digits = 0
        while i < s.endIndex, s[i] >= 48, s[i] <= 57, digits < 18 {
            whole = whole * 10 + UInt64(s[i] - 48); i += 1; digits += 1
        }
        if i < s.endIndex && s[i] == UInt8(ascii: ".") {
            i += 1
            var fd = 0
            while i < s.endIndex, s[i] >= 48, s[i] <= 57, fd < 18 {
                fraction = fraction * 10 + UInt64(s[i] - 48); scale *= 10; i += 1; fd += 1; digits += 1
            }
        }
        if i == s.endIndex && digits > 0 {
            let v = Double(whole) + Double(fraction) / scale
            return negative ? -v : v
        }
        return Double(text(s))
    }
}
