/// Time per op label across runs, for finding where a model spends its time.
public final class Profile {
    public private(set) var nanos: [String: UInt64] = [:]
    public private(set) var calls: [String: Int] = [:]
    public init() {}

    func add(_ label: String, _ ns: UInt64) {
        nanos[label, default: 0] += ns
        calls[label, default: 0] += 1
    }

    /// Rows sorted by total time: (label, total ms, calls, share of all).
    public var rows: [(label: String, ms: Double, calls: Int, share: Double)] {
        let total = Double(nanos.values.reduce(0, +))
        return nanos.sorted { $0.value > $1.value }.map {
            ($0.key, Double($0.value) / 1e6, calls[$0.key] ?? 0, total > 0 ? Double($0.value) / total : 0)
        }
    }
}
