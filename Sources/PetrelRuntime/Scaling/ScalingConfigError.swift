/// A bad `scaling:` (or `limits.containerConcurrency`) setting, naming the key, the value as
/// read and the rule, as knative's config errors do:
/// `scaling.maxScaleDownRate = 0.9: must be greater than 1.0`.
public struct ScalingConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The full key: `scaling.stableWindow`, `limits.containerConcurrency`.
    public var key: String
    /// The offending value as the user would write it; nil when the key itself is the problem.
    public var value: String?
    /// The rule that was broken: "must be greater than 1.0".
    public var message: String

    public init(key: String, value: String?, message: String) {
        self.key = key
        self.value = value
        self.message = message
    }

    public var description: String {
        guard let value else { return "\(key): \(message)" }
        return "\(key) = \(value): \(message)"
    }
}

/// How values appear in errors: 0.9, 3, 1.5, 60s, 500ms; strings that failed to parse quoted.
enum ScalingValueText {
    static func of(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
    static func of(_ v: Int) -> String { String(v) }
    static func of(_ v: Duration) -> String { v.scalingDescription }
    static func raw(_ v: Any) -> String { v is String ? "\"\(v)\"" : "\(v)" }
}

/// Go's `time.ParseDuration`, which Knative uses: a sequence of decimal numbers with units
/// ("60s", "1m30s", "1.5h", "500ms"); "0" alone is zero. Returns nil when it is not one.
func parseScalingDuration(_ text: String) -> Duration? {
    var s = Substring(text)
    var negative = false
    if s.first == "-" || s.first == "+" { negative = s.first == "-"; s = s.dropFirst() }
    if s == "0" { return .zero }
    if s.isEmpty { return nil }
    let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6),
                                     ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
    var total = 0.0
    while !s.isEmpty {
        let number = s.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !number.isEmpty, number != ".", let value = Double(number) else { return nil }
        s = s.dropFirst(number.count)
        let unit = s.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
        guard let scale = units.first(where: { $0.0 == unit })?.1 else { return nil }
        s = s.dropFirst(unit.count)
        total += value * scale
    }
    guard total < 9.2e18 else { return nil }
    return .nanoseconds(Int64((negative ? -total : total).rounded()))
}
