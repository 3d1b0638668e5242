/// Pure traffic arithmetic, exhaustively testable: no registry, no I/O.
public enum TrafficMath {
    /// The revision for a roll in 0..<100 (cumulative over targets in order): with 90/10, rolls
    /// 0...89 pick the first and 90...99 the second. Precondition: sums to 100.
    public static func pick(_ targets: [TrafficTarget], roll: Int) -> String {
        precondition(!targets.isEmpty && (0..<100).contains(roll), "pick needs targets and a roll in 0..<100")
        var cumulative = 0
        for t in targets {
            cumulative += t.percent
            if roll < cumulative { return t.revision }
        }
        preconditionFailure("traffic sums to \(cumulative), not 100")
    }

    /// Gives `revision` `percent` (0...100) and scales the others' shares proportionally into the
    /// remaining 100 − percent, with largest-remainder rounding so the sum is exactly 100 (ties go
    /// to the larger share, then to the earlier target). If nothing else had traffic, `revision`
    /// gets 100 whatever `percent` says: a split must always add up. The result keeps `current`'s
    /// order (a new revision last) and drops shares that became 0.
    public static func shift(_ current: [TrafficTarget], to revision: String, percent: Int) -> [TrafficTarget] {
        precondition((0...100).contains(percent), "percent \(percent) is outside 0...100")
        let others = current.filter { $0.revision != revision && $0.percent > 0 }
        let othersTotal = others.reduce(0) { $0 + $1.percent }
        guard othersTotal > 0 else { return [TrafficTarget(revision: revision, percent: 100)] }
        var result = zip(others, apportion(others.map(\.percent), into: 100 - percent))
            .map { TrafficTarget(revision: $0.revision, percent: $1) }
        let at = current.firstIndex { $0.revision == revision }
            .map { i in current[..<i].filter { $0.revision != revision && $0.percent > 0 }.count } ?? result.count
        result.insert(TrafficTarget(revision: revision, percent: percent), at: at)
        return result.filter { $0.percent > 0 }
    }

    /// Hamilton's method: `weights` scaled to sum exactly to `total`. Each gets the floor of its
    /// exact share; the units left over go to the largest remainders (ties: larger weight, then
    /// earlier index), so the result is deterministic.
    static func apportion(_ weights: [Int], into total: Int) -> [Int] {
        let sum = weights.reduce(0, +)
        precondition(sum > 0 && total >= 0)
        var shares = weights.map { $0 * total / sum }
        let remainders = weights.map { $0 * total % sum }
        let leftover = total - shares.reduce(0, +)
        let order = weights.indices.sorted {
            (remainders[$0], weights[$0], -$0) > (remainders[$1], weights[$1], -$1)
        }
        for i in order.prefix(leftover) { shares[i] += 1 }
        return shares
    }
}
