import Testing
@testable import PetrelRegistry

@Suite struct TrafficMathTests {
    @Test func pickIsCumulativeInOrder() {
        let t = split("a:90 b:10")
        #expect(TrafficMath.pick(t, roll: 0) == "a")
        #expect(TrafficMath.pick(t, roll: 89) == "a")
        #expect(TrafficMath.pick(t, roll: 90) == "b")
        #expect(TrafficMath.pick(t, roll: 99) == "b")
        #expect(TrafficMath.pick(split("only:100"), roll: 42) == "only")
    }

    /// Over all 100 rolls, every split of 100 into up to three shares picks each revision exactly
    /// its percent of the time.
    @Test func pickHonoursEverySplitExactly() {
        for a in 0...100 {
            for b in 0...(100 - a) {
                let targets = [TrafficTarget(revision: "a", percent: a), TrafficTarget(revision: "b", percent: b),
                               TrafficTarget(revision: "c", percent: 100 - a - b)]
                var counts: [String: Int] = [:]
                for roll in 0..<100 { counts[TrafficMath.pick(targets, roll: roll), default: 0] += 1 }
                #expect(counts["a", default: 0] == a && counts["b", default: 0] == b && counts["c", default: 0] == 100 - a - b)
            }
        }
    }

    @Test func shiftExamples() {
        #expect(TrafficMath.shift(split("a:50 b:30 c:20"), to: "d", percent: 10) == split("a:45 b:27 c:18 d:10"))
        // Ties in the remainder go to the earlier target.
        #expect(TrafficMath.shift(split("a:50 b:50"), to: "c", percent: 33) == split("a:34 b:33 c:33"))
        // Ties in the remainder go to the larger share first.
        #expect(TrafficMath.shift(split("a:1 b:3"), to: "c", percent: 98) == split("b:2 c:98"))
        // The shifted revision keeps its place.
        #expect(TrafficMath.shift(split("a:50 b:25 c:25"), to: "b", percent: 50) == split("a:33 b:50 c:17"))
        #expect(TrafficMath.shift(split("a:90 b:10"), to: "b", percent: 0) == split("a:100"))
        #expect(TrafficMath.shift(split("a:90 b:10"), to: "b", percent: 100) == split("b:100"))
        // Nothing else had traffic: 100 regardless.
        #expect(TrafficMath.shift([], to: "a", percent: 10) == split("a:100"))
        #expect(TrafficMath.shift(split("a:100"), to: "a", percent: 0) == split("a:100"))
    }

    /// Every split of 100 into three shares (including zeros), shifted to each of the three and to a
    /// new fourth at every percent: the result sums to 100, has no zero shares and no duplicates,
    /// gives the revision exactly its percent, and keeps every other share within 1 of its exact
    /// proportional value.
    @Test func shiftInvariantsHoldExhaustively() {
        var failures: [String] = []
        for a in 0...100 {
            for b in stride(from: 0, through: 100 - a, by: 3) {
                let current = [TrafficTarget(revision: "a", percent: a), TrafficTarget(revision: "b", percent: b),
                               TrafficTarget(revision: "c", percent: 100 - a - b)].filter { $0.percent > 0 }
                for target in ["a", "b", "c", "d"] {
                    for percent in stride(from: 0, through: 100, by: 7) {
                        if let why = problem(current, target, percent) { failures.append(why) }
                    }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(10))")
    }

    /// What is wrong with shifting `current` to `target` at `percent`, or nil.
    func problem(_ current: [TrafficTarget], _ target: String, _ percent: Int) -> String? {
        let result = TrafficMath.shift(current, to: target, percent: percent)
        var context: String { "\(current) → \(target) \(percent) gave \(result)" }
        if result.reduce(0, { $0 + $1.percent }) != 100 { return "\(context): sum" }
        if !result.allSatisfy({ $0.percent > 0 }) { return "\(context): a zero share" }
        if Set(result.map(\.revision)).count != result.count { return "\(context): a duplicate" }
        let others = current.filter { $0.revision != target }
        let othersTotal = others.reduce(0) { $0 + $1.percent }
        if othersTotal == 0 {
            return result == [TrafficTarget(revision: target, percent: 100)] ? nil : "\(context): not 100 to the target"
        }
        if (result.first { $0.revision == target }?.percent ?? 0) != percent { return "\(context): target share" }
        for o in others {
            let exact = Double(o.percent) * Double(100 - percent) / Double(othersTotal)
            let got = Double(result.first { $0.revision == o.revision }?.percent ?? 0)
            if abs(got - exact) >= 1 { return "\(context): \(o.revision) is not within 1 of \(exact)" }
        }
        return nil
    }

    @Test func apportionSumsExactly() {
        #expect(TrafficMath.apportion([1, 1, 1], into: 100) == [34, 33, 33])
        #expect(TrafficMath.apportion([2, 1], into: 100) == [67, 33])
        #expect(TrafficMath.apportion([5], into: 0) == [0])
        for total in 0...100 {
            for w in 1...20 {
                #expect(TrafficMath.apportion([w, 7, 13], into: total).reduce(0, +) == total)
            }
        }
    }
}
